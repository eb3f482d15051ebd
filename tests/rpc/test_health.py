"""Health of every server: NOT_SERVING from the start until set ready, and again when
draining, for the whole server ("") and for each named service."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from recmesh.rpc.health import add_health_and_reflection

SERVICE = "recmesh.candidates.v1.CandidatesService"
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING


async def _statuses(address: str) -> dict[str, int]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return {
            name: (await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)).status
            for name in ("", SERVICE)
        }


def test_a_new_server_is_not_serving_until_set_ready_and_again_when_draining() -> None:
    asyncio.run(_lifecycle())


async def _lifecycle() -> None:
    server = grpc.aio.server()
    health = add_health_and_reflection(server, [SERVICE])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    address = f"127.0.0.1:{port}"
    try:
        assert await _statuses(address) == {"": NOT_SERVING, SERVICE: NOT_SERVING}

        await health.set_serving()
        assert await _statuses(address) == {"": SERVING, SERVICE: SERVING}

        await health.set_not_serving()
        assert await _statuses(address) == {"": NOT_SERVING, SERVICE: NOT_SERVING}
    finally:
        await server.stop(None)


def test_draining_stays_not_serving_whatever_readiness_says() -> None:
    """After begin_draining, set_serving has no effect: a server going away never
    reports SERVING again."""
    asyncio.run(_draining())


async def _draining() -> None:
    server = grpc.aio.server()
    health = add_health_and_reflection(server, [SERVICE])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    address = f"127.0.0.1:{port}"
    try:
        await health.set_serving()
        await health.begin_draining()
        assert await _statuses(address) == {"": NOT_SERVING, SERVICE: NOT_SERVING}
        await health.set_serving()
        assert await _statuses(address) == {"": NOT_SERVING, SERVICE: NOT_SERVING}
    finally:
        await server.stop(None)
