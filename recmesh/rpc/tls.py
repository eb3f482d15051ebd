"""Mutual TLS between recmesh processes: one shape for the files, one way to load them.

Every process (the four services, the control plane, etcd) and every client holds a
certificate signed by one CA. A server requires its client's certificate, signed by
that CA; a client checks the server's certificate against the CA and the name it
dialled. On loopback that name is 127.0.0.1, so certificates carry the SANs
`IP:127.0.0.1` and `DNS:localhost` (see local_mesh/certificates.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc


class TlsConfigError(ValueError):
    """TLS options are incomplete, or one of the files is missing, unreadable or not PEM.
    The message names the file, never its content."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of one process or client: the CA that signs every certificate of the
    mesh, this party's certificate (chain) and its private key."""

    ca: Path
    cert: Path
    key: Path

    def load(self) -> TlsMaterial:
        """Reads the three files; raises TlsConfigError naming the first bad one."""
        return TlsMaterial(
            ca=_read_pem(self.ca, "CA certificate", b"CERTIFICATE"),
            cert=_read_pem(self.cert, "certificate", b"CERTIFICATE"),
            key=_read_pem(self.key, "private key", b"PRIVATE KEY"),
        )


@dataclass(frozen=True)
class TlsMaterial:
    """The loaded PEM bytes. The key is left out of repr, so logging this object does
    not print it."""

    ca: bytes
    cert: bytes
    key: bytes = field(repr=False)


def tls_files(ca: Path | None, cert: Path | None, key: Path | None) -> TlsFiles | None:
    """TlsFiles when all three paths are given, None when none is; raises TlsConfigError
    when only some are (a half-configured process must not fall back to plaintext)."""
    given = [path for path in (ca, cert, key) if path is not None]
    if not given:
        return None
    if ca is None or cert is None or key is None:
        raise TlsConfigError("mutual TLS needs --tls-ca, --tls-cert and --tls-key together")
    return TlsFiles(ca=ca, cert=cert, key=key)


def server_credentials(tls: TlsFiles) -> grpc.ServerCredentials:
    """Server credentials that require every client to present a certificate signed by
    the CA; a client without one fails the handshake, before any call."""
    material = tls.load()
    return grpc.ssl_server_credentials(
        [(material.key, material.cert)],
        root_certificates=material.ca,
        require_client_auth=True,
    )


def channel_credentials(tls: TlsFiles) -> grpc.ChannelCredentials:
    """Channel credentials that check the server against the CA and present this
    party's certificate."""
    material = tls.load()
    return grpc.ssl_channel_credentials(
        root_certificates=material.ca,
        private_key=material.key,
        certificate_chain=material.cert,
    )


def shared_host(addresses: Sequence[str]) -> str:
    """The one host every `host:port` address names.

    A target over several replicas (`ipv4:a,b`) has no single name for gRPC to check
    the server certificate against, so the channel's authority is set to this host,
    which every replica's certificate must name. Raises TlsConfigError when the
    replicas are on different hosts (no one name to check)."""
    hosts = {address.rpartition(":")[0].strip("[]") for address in addresses}
    if len(hosts) != 1 or "" in hosts:
        raise TlsConfigError(
            f"TLS over several replicas needs them on one host, got {', '.join(addresses)}"
        )
    return hosts.pop()


def _read_pem(path: Path, what: str, label: bytes) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"cannot read the TLS {what} {path}: {exc.strerror or exc}") from exc
    if b"-----BEGIN " not in data or label not in data:
        raise TlsConfigError(f"the TLS {what} {path} is not a PEM file holding a {what}")
    return data
