"""Binding a server's listening port: plaintext, or mutual TLS."""

from __future__ import annotations

import grpc

from recmesh.rpc.tls import TlsFiles, server_credentials


def bind_port(server: grpc.aio.Server, host: str, port: int, tls: TlsFiles | None) -> int:
    """Binds host:port (port 0 picks one) and returns the port bound. With tls, the port
    requires every client to present a certificate signed by tls.ca. Raises OSError when
    the port cannot be bound and TlsConfigError when a TLS file is unusable."""
    address = f"{host}:{port}"
    if tls is None:
        bound = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, server_credentials(tls))
    if bound == 0:
        raise OSError(f"could not bind {address}")
    return bound
