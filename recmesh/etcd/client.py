"""Every etcd client of recmesh is made here: plaintext, or mutual TLS.

etcd3aio dials its endpoints as one `ipv4:a,b,...` target, which takes IP addresses
only. An endpoint named by a DNS name (a Kubernetes Service, `recmesh-etcd:2379`) is
dialled through gRPC's own DNS resolver instead (`dns:///name:port`), which looks the
name up again when connections fail; with TLS the certificate is checked against
that name. Several named endpoints are resolved once, here, to their addresses.
"""

from __future__ import annotations

import ipaddress
import socket
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
    named = [e for e in endpoints if not _is_address(_host_of(e))]
    dial = list(endpoints)
    if named and len(endpoints) > 1:
        dial = [address for endpoint in endpoints for address in _resolved(endpoint)]
    if tls is None:
        client = Etcd3Client(dial)
    else:
        material = tls.load()
        # etcd3aio dials `ipv4:a,b,...`; with several endpoints gRPC has no single name
        # to check, so it is told the host they share (every etcd certificate names it).
        if server_name is None and len(endpoints) > 1:
            server_name = shared_host(endpoints)
        client = Etcd3Client(
            dial,
            ca_cert=material.ca,
            cert_key=material.key,
            cert_chain=material.cert,
            tls_server_name=server_name,
        )
    if named and len(endpoints) == 1:
        # The channel is made at connect(), from this target.
        client._manager.target = f"dns:///{endpoints[0]}"
    return client


def _host_of(endpoint: str) -> str:
    host = endpoint.rsplit(":", 1)[0]
    return host.strip("[]")


def _is_address(host: str) -> bool:
    """An IP address, or localhost (which etcd3aio turns into 127.0.0.1)."""
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolved(endpoint: str) -> list[str]:
    """`host:port` with the host's IPv4 addresses in place of its name (the ipv4 target
    takes no names); an address stays as it is."""
    host, _, port = endpoint.rpartition(":")
    if _is_address(host.strip("[]")):
        return [endpoint]
    infos = socket.getaddrinfo(host, int(port), socket.AF_INET, socket.SOCK_STREAM)
    return sorted({f"{info[4][0]}:{port}" for info in infos})
