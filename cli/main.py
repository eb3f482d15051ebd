"""Entry point of the `recmesh` console script.

Each command group lives in its own module with an `add_parser(subparsers)`
function that registers its sub-commands and sets `handler` on them. Command
modules import heavy dependencies inside their handlers, so `recmesh --help`
stays fast and serving processes never import experiment code through the CLI.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from cli import (
    admin_cmd,
    audit_cmd,
    data_cmd,
    experiment_cmd,
    interactions_cmd,
    models_cmd,
    pointer_cmd,
    promote_cmd,
    recommend_cmd,
    refresh_policy_cmd,
    replay_cmd,
    review_cmd,
    rollback_cmd,
    rollout_cmd,
    shadow_cmd,
    up_cmd,
    whoami_cmd,
)

CommandHandler = Callable[[argparse.Namespace], int]

COMMAND_MODULES = (
    data_cmd,
    models_cmd,
    experiment_cmd,
    review_cmd,
    shadow_cmd,
    promote_cmd,
    rollout_cmd,
    recommend_cmd,
    replay_cmd,
    interactions_cmd,
    rollback_cmd,
    refresh_policy_cmd,
    up_cmd,
    pointer_cmd,
    audit_cmd,
    whoami_cmd,
    admin_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recmesh",
        description="recmesh: serving mesh, experiment control plane and offline experiments.",
    )
    parser.set_defaults(handler=None)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: CommandHandler | None = args.handler
    if handler is None:
        parser.print_help()
        return 2
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
