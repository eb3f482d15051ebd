"""Entry point: python -m services.candidates [--port 50052]."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from services.candidates.server import COMPONENT, DEFAULT_PORT, CandidatesConfig, create_server
from services.common.entrypoint import run_service
from services.common.options import add_common_arguments, common_options


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.candidates", description=__doc__)
    add_common_arguments(parser, DEFAULT_PORT)
    config = CandidatesConfig(common=common_options(parser.parse_args(argv), parser))
    return run_service(
        COMPONENT, config.common, lambda tp, metrics: create_server(config, tp, metrics)
    )


if __name__ == "__main__":
    sys.exit(main())
