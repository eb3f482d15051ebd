"""The local etcd server runs for real, answers KV calls and stops by PID."""

from __future__ import annotations

import asyncio

from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.session import EtcdSession
from recmesh.etcd.users import CONTROL_PLANE_USER


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
