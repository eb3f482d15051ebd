"""What one control plane process is configured with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from recmesh.artifacts.location import ArtifactsLocation
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.keys import DEFAULT_PREFIX
from recmesh.rpc.tls import TlsFiles

__all__ = [
    "DEFAULT_CONFIDENCE_FLOOR",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "DEFAULT_PORT",
    "DEFAULT_RESAMPLES_FLOOR",
    "DEFAULT_ROLLOUT_TICK_SECONDS",
    "ControlPlaneConfig",
    "TlsFiles",
]

DEFAULT_PORT = 50055
DEFAULT_MAX_UPLOAD_BYTES = 1024 * 1024 * 1024
#: The lowest confidence level an experiment's rule may state (spec.confidence).
DEFAULT_CONFIDENCE_FLOOR = 0.9
#: The fewest bootstrap resamples an experiment's rule may require (spec.min_resamples).
DEFAULT_RESAMPLES_FLOOR = 200
DEFAULT_ROLLOUT_TICK_SECONDS = 1.0


@dataclass(frozen=True)
class ControlPlaneConfig:
    #: The artifact store: a directory, or `s3://bucket/prefix` (recmesh/artifacts/location.py).
    artifacts_dir: ArtifactsLocation
    credentials_file: Path
    #: The Ed25519 private key every pointer record is signed with (PKCS#8 PEM).
    signing_key: Path
    etcd_endpoints: tuple[str, ...] = ("127.0.0.1:2379",)
    etcd_prefix: str = DEFAULT_PREFIX
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    #: Mutual TLS on the gRPC port: every client must present a certificate signed by
    #: tls.ca, and its CN (or a SAN) is the principal.
    tls: TlsFiles | None = None
    #: Mutual TLS to etcd (`python -m control_plane --tls-*` sets both to the same files).
    etcd_tls: TlsFiles | None = None
    #: The etcd user the control plane writes as (`--etcd-user`); None with mutual TLS,
    #: when etcd takes the certificate's CN as the user.
    etcd_credentials: EtcdCredentials | None = None
    etcd_timeout_s: float = 5.0
    #: Public keys of earlier signing keys whose records still verify (a rotation).
    trusted_keys: tuple[Path, ...] = ()
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    #: CreateExperiment refuses a rule at a lower confidence level (`--confidence-floor`):
    #: the spec, not the control plane, would otherwise choose how sure a PASS must be.
    confidence_floor: float = DEFAULT_CONFIDENCE_FLOOR
    #: CreateExperiment refuses a rule requiring fewer resamples (`--resamples-floor`).
    resamples_floor: int = DEFAULT_RESAMPLES_FLOOR
    #: Impression logs GetShadowReport computes the shadow diff from (`--impressions`).
    impressions: tuple[Path, ...] = ()
    #: How often the rollout driver checks for a running stage due for a look
    #: (`--rollout-tick-seconds`); each plan sets its own look interval.
    rollout_tick_seconds: float = DEFAULT_ROLLOUT_TICK_SECONDS
