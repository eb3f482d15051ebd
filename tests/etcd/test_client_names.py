"""recmesh.etcd.client reaches etcd by a DNS name (a Kubernetes Service name), which
etcd3aio's `ipv4:` target refuses: one named endpoint is dialled through gRPC's DNS
resolver, several are resolved to their addresses. A real etcd on 127.0.0.1, reached by
this machine's own name where that name resolves to loopback."""

from __future__ import annotations

import asyncio
import socket

import pytest

from recmesh.etcd.client import etcd_client
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.users import ROOT_USER


def _loopback_name() -> str:
    """A name other than localhost that resolves to 127.0.0.1 only (the machine's)."""
    name = socket.gethostname()
    try:
        addresses = {i[4][0] for i in socket.getaddrinfo(name, 0, socket.AF_INET)}
    except OSError:
        addresses = set()
    if addresses != {"127.0.0.1"}:
        pytest.skip(f"this machine's name {name!r} does not resolve to 127.0.0.1 alone")
    return name


async def _round_trip(endpoints: list[str], etcd: LocalEtcd) -> bytes | None:
    client = etcd_client(endpoints, None)
    await client.connect()
    try:
        assert client.auth is not None
        root = etcd.credentials(ROOT_USER)
        token = (await client.auth.authenticate(root.user, root.password)).token
        client.set_token(str(token))
        assert client.kv is not None
        await client.kv.put("/recmesh/test/named", b"reached")
        reply = await client.kv.get("/recmesh/test/named")
        return bytes(reply.kvs[0].value) if reply.kvs else None
    finally:
        await client.close()


def test_one_named_endpoint_is_dialled_through_dns(etcd_server: LocalEtcd) -> None:
    name = _loopback_name()
    endpoint = f"{name}:{etcd_server.client_port}"
    client = etcd_client([endpoint], None)
    assert client._manager.target == f"dns:///{endpoint}"
    assert asyncio.run(_round_trip([endpoint], etcd_server)) == b"reached"


def test_several_named_endpoints_are_resolved_to_addresses(etcd_server: LocalEtcd) -> None:
    name = _loopback_name()
    port = etcd_server.client_port
    endpoints = [f"{name}:{port}", f"127.0.0.1:{port}"]
    client = etcd_client(endpoints, None)
    assert client._manager.target == f"ipv4:127.0.0.1:{port},127.0.0.1:{port}"
    assert asyncio.run(_round_trip(endpoints, etcd_server)) == b"reached"


def test_addresses_are_dialled_as_before(etcd_server: LocalEtcd) -> None:
    client = etcd_client([etcd_server.endpoint], None)
    assert client._manager.target == f"ipv4:{etcd_server.endpoint}"
