"""Entry point: python -m services.features [--port 50053]."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from services.common.entrypoint import run_service
from services.common.options import add_common_arguments, common_options
from services.features.server import COMPONENT, DEFAULT_PORT, FeaturesConfig, create_server


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.features", description=__doc__)
    add_common_arguments(parser, DEFAULT_PORT)
    config = FeaturesConfig(common=common_options(parser.parse_args(argv), parser))
    return run_service(
        COMPONENT, config.common, lambda tp, metrics: create_server(config, tp, metrics)
    )


if __name__ == "__main__":
    sys.exit(main())
