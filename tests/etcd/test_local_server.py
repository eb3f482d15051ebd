"""The local etcd server runs for real, answers KV calls and stops by PID."""

from __future__ import annotations

import asyncio

from etcd3aio import Etcd3Client

from recmesh.etcd.local_server import LocalEtcd


def test_local_etcd_serves_kv_and_stops(etcd_server: LocalEtcd) -> None:
    """A put through etcd3aio is readable back; stop() ends the process."""

    async def roundtrip() -> bytes:
        async with Etcd3Client([etcd_server.endpoint]) as client:
            assert client.kv is not None
            await client.kv.put("/recmesh/test", "hello")
            response = await client.kv.get("/recmesh/test")
            return bytes(response.kvs[0].value)

    assert asyncio.run(roundtrip()) == b"hello"
    assert etcd_server.is_healthy()
    etcd_server.stop()
    assert etcd_server.process is not None
    assert etcd_server.process.poll() is not None
    assert not etcd_server.is_healthy()
