"""Every etcd client of recmesh is made here: plaintext, or mutual TLS."""

from __future__ import annotations

from collections.abc import Sequence

from etcd3aio import Etcd3Client

from recmesh.rpc.tls import TlsFiles, shared_host


def etcd_client(
    endpoints: Sequence[str], tls: TlsFiles | None = None, *, server_name: str | None = None
) -> Etcd3Client:
    """An unconnected client over `host:port` endpoints. With tls it presents tls.cert
    and checks etcd's certificate against tls.ca and, when given, server_name instead
    of the endpoints' host (a tunnel such as kubectl port-forward to 127.0.0.1); raises
    TlsConfigError when a file is unusable."""
    if tls is None:
        return Etcd3Client(list(endpoints))
    material = tls.load()
    # etcd3aio dials `ipv4:a,b,...`; with several endpoints gRPC has no single name to
    # check, so it is told the host they share (every etcd certificate names it).
    if server_name is None and len(endpoints) > 1:
        server_name = shared_host(endpoints)
    return Etcd3Client(
        list(endpoints),
        ca_cert=material.ca,
        cert_key=material.key,
        cert_chain=material.cert,
        tls_server_name=server_name,
    )
