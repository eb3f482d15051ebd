"""Entry point: python -m control_plane [--port 50055] --etcd HOST:PORT --artifacts DIR|s3://B/P
--credentials FILE --pointer-signing-key FILE [--pointer-public-key FILE ...]
[--tls-cert F --tls-key F --tls-ca F] [--confidence-floor 0.9] [--resamples-floor 200]
[--impressions LOG ...] [--rollout-tick-seconds 1].

SIGTERM or SIGINT stops accepting calls, lets in-flight calls finish for up to
--drain-seconds, then exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog

from control_plane.auth.principals import PrincipalsFileError
from control_plane.config import (
    DEFAULT_CONFIDENCE_FLOOR,
    DEFAULT_PORT,
    DEFAULT_RESAMPLES_FLOOR,
    DEFAULT_ROLLOUT_TICK_SECONDS,
    ControlPlaneConfig,
)
from control_plane.server import COMPONENT, create_server
from recmesh.artifacts.location import parse_artifacts_location
from recmesh.etcd.credential_options import (
    add_etcd_credential_arguments,
    etcd_credentials_from_args,
)
from recmesh.etcd.keys import DEFAULT_PREFIX
from recmesh.rpc.tls_options import (
    add_etcd_tls_arguments,
    add_tls_arguments,
    etcd_tls_from_args,
    tls_from_args,
)
from recmesh.server.run import run_until_signal
from recmesh.signing.keys import KeyFileError
from recmesh.telemetry.logging import configure_logging
from recmesh.telemetry.metrics import ServerMetrics
from recmesh.telemetry.metrics_options import add_metrics_arguments
from recmesh.telemetry.tracing import create_tracer_provider

log = structlog.get_logger("recmesh.control_plane")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m control_plane", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="gRPC port (0 = any)")
    parser.add_argument("--etcd", default="127.0.0.1:2379", help="etcd endpoints, comma-separated")
    parser.add_argument("--etcd-prefix", default=DEFAULT_PREFIX)
    parser.add_argument(
        "--artifacts",
        type=parse_artifacts_location,
        required=True,
        help="the artifact store: a directory or s3://bucket/prefix (credentials and endpoint "
        "from the standard AWS variables)",
    )
    parser.add_argument(
        "--credentials", type=Path, required=True, help="principals file (principals.json)"
    )
    parser.add_argument(
        "--pointer-signing-key",
        type=Path,
        required=True,
        help="Ed25519 private key (PKCS#8 PEM) every serving pointer record is signed with",
    )
    parser.add_argument(
        "--pointer-public-key",
        type=Path,
        action="append",
        default=[],
        help="public key of an earlier signing key whose records still verify (during a "
        "key rotation); repeatable",
    )
    parser.add_argument(
        "--confidence-floor",
        type=float,
        default=DEFAULT_CONFIDENCE_FLOOR,
        help="CreateExperiment refuses a decision rule at a lower confidence level "
        f"(default {DEFAULT_CONFIDENCE_FLOOR:g})",
    )
    parser.add_argument(
        "--resamples-floor",
        type=int,
        default=DEFAULT_RESAMPLES_FLOOR,
        help="CreateExperiment refuses a decision rule requiring fewer bootstrap resamples "
        f"(default {DEFAULT_RESAMPLES_FLOOR})",
    )
    parser.add_argument(
        "--impressions",
        type=Path,
        action="append",
        default=[],
        help="an impression log (JSON lines) GetShadowReport computes the shadow diff from; "
        "repeatable (one per front)",
    )
    parser.add_argument(
        "--rollout-tick-seconds",
        type=float,
        default=DEFAULT_ROLLOUT_TICK_SECONDS,
        help="how often the rollout driver checks for a stage due for a look (each plan "
        f"sets its own look interval; default {DEFAULT_ROLLOUT_TICK_SECONDS:g})",
    )
    add_tls_arguments(parser, party="this control plane (served and presented to etcd)")
    add_etcd_tls_arguments(parser)
    add_etcd_credential_arguments(parser)
    parser.add_argument("--span-file", type=Path, default=None, help="append spans as JSON lines")
    add_metrics_arguments(parser)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--drain-seconds", type=float, default=5.0)
    return parser


def config_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> ControlPlaneConfig:
    tls = tls_from_args(args, parser)
    etcd_tls = etcd_tls_from_args(args, parser, tls)
    if not 0.0 < args.confidence_floor < 1.0:
        parser.error(f"--confidence-floor must be between 0 and 1, got {args.confidence_floor}")
    if not args.rollout_tick_seconds > 0:
        parser.error(f"--rollout-tick-seconds must be positive, got {args.rollout_tick_seconds}")
    if args.resamples_floor < 1:
        parser.error(f"--resamples-floor must be at least 1, got {args.resamples_floor}")
    return ControlPlaneConfig(
        artifacts_dir=args.artifacts,
        credentials_file=args.credentials,
        signing_key=args.pointer_signing_key,
        trusted_keys=tuple(args.pointer_public_key),
        etcd_endpoints=tuple(e.strip() for e in args.etcd.split(",") if e.strip()),
        etcd_prefix=args.etcd_prefix,
        host=args.host,
        port=args.port,
        tls=tls,
        etcd_tls=etcd_tls,
        etcd_credentials=etcd_credentials_from_args(args, parser, tls=etcd_tls is not None),
        confidence_floor=args.confidence_floor,
        resamples_floor=args.resamples_floor,
        impressions=tuple(args.impressions),
        rollout_tick_seconds=args.rollout_tick_seconds,
    )


async def serve(
    config: ControlPlaneConfig,
    span_file: Path | None,
    metrics_port: int | None,
    drain_seconds: float,
    metrics_host: str = "127.0.0.1",
) -> None:
    provider = create_tracer_provider(f"recmesh-{COMPONENT}", span_file)
    metrics = ServerMetrics(COMPONENT)
    if metrics_port is not None:
        metrics.serve_http(metrics_port, metrics_host)
    try:
        handle = await create_server(config, tracer_provider=provider, metrics=metrics)
        await run_until_signal(
            handle,
            drain_seconds,
            mtls=config.tls is not None,
            etcd=",".join(config.etcd_endpoints),
        )
    finally:
        provider.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    config = config_from(args, parser)
    configure_logging(COMPONENT, args.log_level)
    try:
        asyncio.run(
            serve(config, args.span_file, args.metrics_port, args.drain_seconds, args.metrics_host)
        )
    except (PrincipalsFileError, KeyFileError, OSError) as exc:
        log.error("startup_failed", component=COMPONENT, error=str(exc))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
