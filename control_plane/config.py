"""What one control plane process is configured with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from recmesh.etcd.keys import DEFAULT_PREFIX

DEFAULT_PORT = 50055
DEFAULT_MAX_UPLOAD_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True)
class TlsFiles:
    """Mutual TLS: the server's certificate and key, and the CA that signs client certificates.
    When set, every client must present a certificate; its CN (or a SAN) is the principal."""

    cert: Path
    key: Path
    client_ca: Path


@dataclass(frozen=True)
class ControlPlaneConfig:
    artifacts_dir: Path
    credentials_file: Path
    etcd_endpoints: tuple[str, ...] = ("127.0.0.1:2379",)
    etcd_prefix: str = DEFAULT_PREFIX
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    tls: TlsFiles | None = None
    etcd_timeout_s: float = 5.0
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
