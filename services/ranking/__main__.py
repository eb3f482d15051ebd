"""Entry point: python -m services.ranking [--port 50054] [--features HOST:PORT,...]."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from services.common.entrypoint import run_service
from services.common.options import (
    REPLICAS_HELP,
    add_batching_arguments,
    add_common_arguments,
    batching_options,
    common_options,
    replica_addresses,
)
from services.ranking.scoring_lanes import DEFAULT_SHED_ABOVE
from services.ranking.server import COMPONENT, DEFAULT_PORT, RankingConfig, create_server


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.ranking", description=__doc__)
    add_common_arguments(parser, DEFAULT_PORT)
    parser.add_argument("--features", default="127.0.0.1:50053", help=REPLICAS_HELP)
    add_batching_arguments(parser, "features")
    parser.add_argument(
        "--shadow-shed-above",
        type=int,
        default=DEFAULT_SHED_ABOVE,
        help="shadow Rank calls (the front's shadow scoring) are refused while more "
        "answering (champion or staged challenger) Rank items than this are in flight "
        "(default %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.shadow_shed_above < 0:
        parser.error("--shadow-shed-above must be >= 0")
    config = RankingConfig(
        common=common_options(args, parser),
        features_addresses=replica_addresses(args.features, "--features", parser),
        batching=batching_options(args, parser),
        shadow_shed_above=args.shadow_shed_above,
    )
    return run_service(
        COMPONENT, config.common, lambda tp, metrics: create_server(config, tp, metrics)
    )


if __name__ == "__main__":
    sys.exit(main())
