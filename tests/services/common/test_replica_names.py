"""Which downstream addresses name a set of replicas (dns:///NAME:PORT), what is refused,
and resolving a name with the system resolver (localhost only)."""

from __future__ import annotations

import asyncio

import pytest

from services.common.replica_names import (
    DnsTarget,
    host_port,
    parse_dns_target,
    resolve_with_getaddrinfo,
)


def test_a_dns_address_names_a_target() -> None:
    """dns:///NAME:PORT parses to its name and port, and prints back the same."""
    target = parse_dns_target("dns:///recmesh-ranking:50054")
    assert target == DnsTarget("recmesh-ranking", 50054)
    assert str(target) == "dns:///recmesh-ranking:50054"


@pytest.mark.parametrize("address", ["recmesh-ranking:50054", "127.0.0.1:50054", "[::1]:1"])
def test_a_plain_address_is_not_resolved(address: str) -> None:
    """HOST:PORT is one replica, as before: no target."""
    assert parse_dns_target(address) is None


@pytest.mark.parametrize(
    "address",
    [
        "dns://8.8.8.8/recmesh-ranking:50054",
        "dns:recmesh-ranking:50054",
        "dns:///recmesh-ranking",
        "dns:///:50054",
        "dns:///recmesh-ranking:http",
        "dns:///recmesh-ranking:0",
    ],
)
def test_other_dns_shapes_are_refused(address: str) -> None:
    """A dns: address with an authority, no name or no numeric port is an error, never
    passed on to gRPC as one channel."""
    with pytest.raises(ValueError, match="a resolved address is dns:///NAME:PORT"):
        parse_dns_target(address)


def test_ipv6_addresses_are_bracketed() -> None:
    """A resolved IPv6 address becomes a gRPC target in brackets."""
    assert host_port("10.0.0.7", 50054) == "10.0.0.7:50054"
    assert host_port("fd00::7", 50054) == "[fd00::7]:50054"


def test_getaddrinfo_resolves_localhost_once_per_address() -> None:
    """The system resolver's answer for localhost includes 127.0.0.1 on the port, once."""
    found = asyncio.run(resolve_with_getaddrinfo("localhost", 50054))
    assert "127.0.0.1:50054" in found
    assert sorted(set(found)) == list(found)
