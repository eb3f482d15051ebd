"""The local etcd server runs for real, answers KV calls and stops by PID."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from recmesh.etcd import local_server
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.session import EtcdSession
from recmesh.etcd.users import CONTROL_PLANE_USER
from recmesh.net.ports import free_loopback_ports


def test_local_etcd_serves_kv_and_stops(etcd_server: LocalEtcd) -> None:
    """A put as the control-plane user is readable back; stop() ends the process."""

    async def roundtrip() -> bytes:
        session = EtcdSession(
            [etcd_server.endpoint], credentials=etcd_server.credentials(CONTROL_PLANE_USER)
        )
        client = await session.open()
        try:
            await session.login()
            assert client.kv is not None
            await client.kv.put("/recmesh/v1/test", "hello")
            response = await client.kv.get("/recmesh/v1/test")
            return bytes(response.kvs[0].value)
        finally:
            await session.close()

    assert asyncio.run(roundtrip()) == b"hello"
    assert etcd_server.is_healthy()
    etcd_server.stop()
    assert etcd_server.process is not None
    assert etcd_server.process.poll() is not None
    assert not etcd_server.is_healthy()


def test_picked_ports_are_distinct() -> None:
    """Client and peer ports are picked together, never the same port twice."""
    ports = free_loopback_ports(64)
    assert len(set(ports)) == 64


def test_a_picked_port_taken_before_etcd_binds_it_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process binds the client port between the pick and etcd's start: etcd
    exits with "address already in use", and start() starts it again on fresh ports."""
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = int(squatter.getsockname()[1])
    picks: list[list[int]] = []
    real = free_loopback_ports

    def pick(count: int) -> list[int]:
        ports = [taken, *real(count - 1)] if not picks else real(count)
        picks.append(ports)
        return ports

    monkeypatch.setattr(local_server, "free_loopback_ports", pick)
    server = LocalEtcd(data_dir=tmp_path / "data")
    try:
        server.start()
        assert len(picks) == 2
        assert server.client_port != taken
        assert server.is_healthy()
    finally:
        server.stop()
        squatter.close()
