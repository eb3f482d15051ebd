"""Downstream addresses that name a set of replicas: `dns:///NAME:PORT`.

A plain `HOST:PORT` is one replica. `dns:///NAME:PORT` (a Kubernetes headless Service)
is every address NAME resolves to, each a replica with its own channel and breaker
(services/common/downstream.py), re-resolved periodically so that replicas added by
an autoscaler get calls and removed ones are dropped. gRPC's own DNS resolver would
keep the whole set behind one channel, and re-resolve only on a lost connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

DNS_SCHEME = "dns:///"

#: The replica addresses (`HOST:PORT`) a name and port resolve to now; raises OSError
#: when the name does not resolve.
Resolve = Callable[[str, int], Awaitable[Sequence[str]]]


@dataclass(frozen=True)
class DnsTarget:
    """A `dns:///NAME:PORT` address: the replicas are NAME's addresses on PORT."""

    name: str
    port: int

    def __str__(self) -> str:
        return f"{DNS_SCHEME}{self.name}:{self.port}"


def parse_dns_target(address: str) -> DnsTarget | None:
    """The DnsTarget of a `dns:///NAME:PORT` address, None for any other address;
    ValueError for a `dns:` address of another shape (an authority, no port)."""
    if not address.startswith("dns:"):
        return None
    if not address.startswith(DNS_SCHEME):
        raise ValueError(f"{address!r}: a resolved address is dns:///NAME:PORT")
    name, sep, port = address[len(DNS_SCHEME) :].rpartition(":")
    if not sep or not name or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{address!r}: a resolved address is dns:///NAME:PORT")
    return DnsTarget(name, int(port))


def host_port(ip: str, port: int) -> str:
    """ip:port as a gRPC target, an IPv6 address in brackets."""
    if ipaddress.ip_address(ip).version == 6:
        return f"[{ip}]:{port}"
    return f"{ip}:{port}"


async def resolve_with_getaddrinfo(name: str, port: int) -> Sequence[str]:
    """NAME's addresses on port from the system resolver, sorted, each once."""
    infos = await asyncio.get_running_loop().getaddrinfo(name, port, type=socket.SOCK_STREAM)
    return sorted({host_port(str(info[4][0]), port) for info in infos})
