"""Command-line options every serving process takes, and their parsed form."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from recmesh.artifacts.location import ArtifactsLocation, parse_artifacts_location
from recmesh.etcd.credential_options import (
    add_etcd_credential_arguments,
    etcd_credentials_from_args,
)
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.keys import DEFAULT_PREFIX
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.rpc.tls import TlsFiles
from recmesh.rpc.tls_options import (
    add_etcd_tls_arguments,
    add_tls_arguments,
    etcd_tls_from_args,
    tls_from_args,
)
from recmesh.signing.keys import KeyFileError, PublicKeyRing
from recmesh.telemetry.metrics_options import add_metrics_arguments
from services.common.coalesced_downstream import BatchingOptions
from services.common.load_policy import LoadPolicy
from services.common.replica_names import parse_dns_target

DEFAULT_ARTIFACTS = REPO_ROOT / "var" / "artifacts"

#: The parts of a serving process's telemetry that can be switched off (all on by
#: default), by `--telemetry-off` or, for every process of a mesh at once, by this
#: environment variable (a comma-separated list of the names below). The benchmark
#: bench/telemetry_cost.py measures what each costs.
TELEMETRY_OFF_ENV = "RECMESH_TELEMETRY_OFF"
TELEMETRY_PARTS = ("spans", "span_export", "metrics", "logs", "impressions")


@dataclass(frozen=True)
class TelemetrySwitches:
    """Which telemetry a serving process keeps. spans: off records none (the tracer's
    sampler drops every span; trace context is still made and passed on); span_export:
    off records spans but exports them nowhere (no span file, no OTLP); metrics: off
    leaves the per-call RPC metrics out of the instrumenting interceptor; logs: off
    drops every log line; impressions: off discards the front's impression records
    instead of writing them to the impression log."""

    spans: bool = True
    span_export: bool = True
    metrics: bool = True
    logs: bool = True
    impressions: bool = True

    @classmethod
    def parse_off(cls, names: str) -> TelemetrySwitches:
        """The switches with the comma-separated `names` off; ValueError naming an
        unknown part."""
        off = {n.strip() for n in names.split(",") if n.strip()}
        unknown = off - set(TELEMETRY_PARTS)
        if unknown:
            raise ValueError(
                f"unknown telemetry part(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(TELEMETRY_PARTS)}"
            )
        return cls(**{part: part not in off for part in TELEMETRY_PARTS})


@dataclass(frozen=True)
class CommonOptions:
    """Where a serving process listens and what it reads."""

    host: str
    port: int
    etcd_endpoints: tuple[str, ...]
    etcd_prefix: str
    #: The artifact store: a directory, or `s3://bucket/prefix` (recmesh/artifacts/location.py).
    artifacts_dir: ArtifactsLocation
    span_file: Path | None
    metrics_port: int | None
    log_level: str
    drain_seconds: float
    #: The control plane's public keys: only pointer records they signed are followed.
    pointer_keys: PublicKeyRing
    #: Where this process keeps the last pointer record it accepted (per component).
    state_dir: Path
    #: Mutual TLS for the server port, downstream channels and etcd; None is plaintext.
    tls: TlsFiles | None = None
    #: Mutual TLS to etcd: certificates of etcd's own CA, or `tls` when not given.
    etcd_tls: TlsFiles | None = None
    #: Retries of failed version loads and the retry window (readiness, lag log).
    loads: LoadPolicy = field(default_factory=LoadPolicy)
    #: The etcd user this process reads the pointer as; None with mutual TLS (etcd then
    #: takes the certificate's CN as the user).
    etcd_credentials: EtcdCredentials | None = None
    #: With no state file yet, pointer records below this sequence are refused as
    #: replayed (saved as the state's first high-water mark); 0 trusts any signed one.
    min_pointer_sequence: int = 0
    #: The telemetry this process keeps (all of it unless switched off).
    telemetry: TelemetrySwitches = field(default_factory=TelemetrySwitches)
    #: The address /metrics listens on (loopback unless a scraper must reach it).
    metrics_host: str = "127.0.0.1"


def add_common_arguments(parser: argparse.ArgumentParser, default_port: int) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=default_port, help="gRPC port (0 = any)")
    parser.add_argument(
        "--etcd",
        default="127.0.0.1:2379",
        help="comma-separated etcd endpoints host:port",
    )
    parser.add_argument("--etcd-prefix", default=DEFAULT_PREFIX)
    parser.add_argument(
        "--artifacts",
        type=parse_artifacts_location,
        default=DEFAULT_ARTIFACTS,
        help="the artifact store: a directory or s3://bucket/prefix (credentials and endpoint "
        "from the standard AWS variables)",
    )
    parser.add_argument("--span-file", type=Path, default=None, help="append spans as JSON lines")
    add_metrics_arguments(parser)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--drain-seconds", type=float, default=5.0)
    parser.add_argument(
        "--pointer-public-key",
        type=Path,
        action="append",
        required=True,
        help="the control plane's Ed25519 public key (PEM); only pointer records it signed "
        "are served; repeat to accept several during a key rotation",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        required=True,
        help="this process's own directory for the last pointer record it accepted (its "
        "sequence number is never accepted lower again, across restarts)",
    )
    parser.add_argument(
        "--min-pointer-sequence",
        type=int,
        default=0,
        metavar="N",
        help="the floor of a process with no state yet: pointer records with a lower "
        "sequence are refused as replayed (saved into the state; `recmesh pointer --json` "
        "gives the current record's sequence)",
    )
    loads = LoadPolicy()
    parser.add_argument(
        "--load-retry-max-seconds",
        type=float,
        default=loads.max_retry_s,
        help="longest wait between attempts to load a version that failed to load",
    )
    parser.add_argument(
        "--version-lag-window-seconds",
        type=float,
        default=loads.lag_window_s,
        help="how long this process may serve another version than the pointer's before "
        "it logs serving_version_lagging (and, downstream, reports NOT_SERVING when it "
        "holds nothing the front may ask for)",
    )
    parser.add_argument(
        "--telemetry-off",
        default=os.environ.get(TELEMETRY_OFF_ENV, ""),
        metavar="PARTS",
        help=f"comma-separated telemetry to switch off: {', '.join(TELEMETRY_PARTS)} "
        f"(default: ${TELEMETRY_OFF_ENV}, else none; for measuring what each costs)",
    )
    add_tls_arguments(parser, party="this process (served and presented to etcd and peers)")
    add_etcd_tls_arguments(parser)
    add_etcd_credential_arguments(parser)


def common_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> CommonOptions:
    """The parsed options; exits through parser.error when the TLS options are partial or
    name an unusable file, or the load options make no sense."""
    try:
        loads = replace(
            LoadPolicy(),
            max_retry_s=args.load_retry_max_seconds,
            lag_window_s=args.version_lag_window_seconds,
        )
    except ValueError as exc:
        parser.error(f"--load-retry-max-seconds / --version-lag-window-seconds: {exc}")
    try:
        pointer_keys = PublicKeyRing.from_files(args.pointer_public_key)
    except (KeyFileError, ValueError) as exc:
        parser.error(f"--pointer-public-key: {exc}")
    if args.min_pointer_sequence < 0:
        parser.error("--min-pointer-sequence: must be 0 or more")
    try:
        telemetry = TelemetrySwitches.parse_off(args.telemetry_off)
    except ValueError as exc:
        parser.error(f"--telemetry-off: {exc}")
    tls = tls_from_args(args, parser)
    etcd_tls = etcd_tls_from_args(args, parser, tls)
    return CommonOptions(
        host=args.host,
        port=args.port,
        etcd_endpoints=tuple(e.strip() for e in args.etcd.split(",") if e.strip()),
        etcd_prefix=args.etcd_prefix,
        artifacts_dir=args.artifacts,
        span_file=args.span_file,
        metrics_port=args.metrics_port,
        log_level=args.log_level,
        drain_seconds=args.drain_seconds,
        pointer_keys=pointer_keys,
        state_dir=args.state_dir,
        tls=tls,
        etcd_tls=etcd_tls,
        loads=loads,
        etcd_credentials=etcd_credentials_from_args(args, parser, tls=etcd_tls is not None),
        min_pointer_sequence=args.min_pointer_sequence,
        telemetry=telemetry,
        metrics_host=args.metrics_host,
    )


def add_batching_arguments(parser: argparse.ArgumentParser, downstreams: str) -> None:
    """Options of a caller that coalesces its calls to `downstreams` under load
    (services/common/coalesced_downstream.py): on by default."""
    defaults = BatchingOptions()
    parser.add_argument(
        "--no-batching",
        action="store_true",
        help=f"call {downstreams} with one unary call per request instead of coalescing "
        "the requests that arrive while a call is in flight into one batch call",
    )
    parser.add_argument(
        "--batch-max-in-flight",
        type=int,
        default=defaults.max_in_flight,
        metavar="N",
        help=f"batch calls in flight at once to each of {downstreams}; a request arriving "
        "with fewer in flight is sent at once, alone",
    )
    parser.add_argument(
        "--batch-max-size",
        type=int,
        default=defaults.max_batch,
        metavar="N",
        help="most requests in one batch call",
    )


def batching_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> BatchingOptions:
    """The parsed batching options; exits through parser.error when a bound is below 1."""
    try:
        return BatchingOptions(
            enabled=not args.no_batching,
            max_in_flight=args.batch_max_in_flight,
            max_batch=args.batch_max_size,
        )
    except ValueError as exc:
        parser.error(f"--batch-max-in-flight / --batch-max-size: {exc}")


#: The help of a downstream replicas option (--candidates, --ranking, --features).
REPLICAS_HELP = (
    "replicas, comma-separated: HOST:PORT is one replica; dns:///NAME:PORT is one replica "
    "per address NAME resolves to, resolved again every 10 s (a Kubernetes headless Service)"
)


def replica_addresses(value: str, option: str, parser: argparse.ArgumentParser) -> tuple[str, ...]:
    """The comma-separated addresses of a replicas option; exits through parser.error on
    a dns: address other than dns:///NAME:PORT, or none at all."""
    addresses = tuple(a for a in value.split(",") if a)
    if not addresses:
        parser.error(f"{option}: at least one replica address is needed")
    for address in addresses:
        try:
            parse_dns_target(address)
        except ValueError as exc:
            parser.error(f"{option}: {exc}")
    return addresses
