"""Entry point: python -m services.recommend [--port 50051] [--candidates ...] [--ranking ...]."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from recmesh.files.repo_paths import REPO_ROOT
from recmesh.wire.limits import DEFAULT_CANDIDATES
from services.common.entrypoint import run_service
from services.common.options import (
    REPLICAS_HELP,
    add_batching_arguments,
    add_common_arguments,
    batching_options,
    common_options,
    replica_addresses,
)
from services.recommend.arms import DEFAULT_WARMUP_S
from services.recommend.server import (
    COMPONENT,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_PORT,
    RecommendConfig,
    create_server,
)
from services.recommend.shadow_policy import ShadowPolicy


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.recommend", description=__doc__)
    add_common_arguments(parser, DEFAULT_PORT)
    parser.add_argument("--candidates", default="127.0.0.1:50052", help=REPLICAS_HELP)
    parser.add_argument("--ranking", default="127.0.0.1:50054", help=REPLICAS_HELP)
    parser.add_argument(
        "--impressions",
        type=Path,
        default=REPO_ROOT / "var" / "impressions.jsonl",
        help="append-only impression log (JSON lines)",
    )
    parser.add_argument(
        "--interaction-log",
        type=Path,
        default=None,
        help="directory of the append-only interaction log that RecordInteractions writes "
        "(off when not given: RecordInteractions answers FAILED_PRECONDITION)",
    )
    parser.add_argument("--max-candidates", type=int, default=DEFAULT_CANDIDATES)
    parser.add_argument("--max-in-flight", type=int, default=DEFAULT_MAX_IN_FLIGHT)
    add_batching_arguments(parser, "candidates and ranking")
    parser.add_argument(
        "--shadow-cpu-budget",
        type=float,
        default=ShadowPolicy().cpu_budget,
        help="shadow scoring is shed while the front process used more than this "
        "fraction of one core over the last second (default %(default)s; 0 sheds all)",
    )
    parser.add_argument(
        "--rollout-warmup-seconds",
        type=float,
        default=DEFAULT_WARMUP_S,
        help="a staged rollout's arms are counted only once the front has held the "
        "challenger this long (default %(default)s; the other services load it too)",
    )
    args = parser.parse_args(argv)
    if args.shadow_cpu_budget < 0:
        parser.error("--shadow-cpu-budget must be >= 0")
    if args.rollout_warmup_seconds < 0:
        parser.error("--rollout-warmup-seconds must be >= 0")
    config = RecommendConfig(
        common=common_options(args, parser),
        candidates_addresses=replica_addresses(args.candidates, "--candidates", parser),
        ranking_addresses=replica_addresses(args.ranking, "--ranking", parser),
        impressions_path=args.impressions,
        interaction_log_dir=args.interaction_log,
        max_candidates=args.max_candidates,
        max_in_flight=args.max_in_flight,
        batching=batching_options(args, parser),
        shadow=ShadowPolicy(cpu_budget=args.shadow_cpu_budget),
        rollout_warmup_s=args.rollout_warmup_seconds,
    )
    return run_service(
        COMPONENT, config.common, lambda tp, metrics: create_server(config, tp, metrics)
    )


if __name__ == "__main__":
    sys.exit(main())
