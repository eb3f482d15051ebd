"""ServerHandle and run_until_signal: on SIGTERM, health NOT_SERVING for good, in-flight
calls drained, background tasks stopped, then closers run in order."""

from __future__ import annotations

import asyncio
import os
import signal

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider
from structlog.testing import capture_logs

from recmesh.server.build import build_server, server_interceptors
from recmesh.server.run import ServerHandle, run_until_signal
from tests.server.probe_server import SERVICE


async def _started(events: list[str]) -> tuple[ServerHandle, asyncio.Event]:
    server, health = build_server(
        service_full_names=[SERVICE],
        register=lambda s: None,
        interceptors=server_interceptors(_provider(), None),
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await health.set_serving()
    stopped = asyncio.Event()

    async def background() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            events.append("background stopped")
            stopped.set()

    async def close(name: str) -> None:
        events.append(f"closed {name}")

    handle = ServerHandle(
        component="probe",
        server=server,
        port=port,
        health=health,
        background=[asyncio.create_task(background())],
        closers=[lambda: close("first"), lambda: close("second")],
    )
    return handle, stopped


def _provider() -> TracerProvider:

    return TracerProvider()


async def _status(port: int) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        return int(answer.status)


def test_stop_drains_then_stops_background_then_closes_in_order() -> None:
    async def main() -> None:
        events: list[str] = []
        handle, stopped = await _started(events)
        assert await _status(handle.port) == health_pb2.HealthCheckResponse.SERVING
        await handle.health.begin_draining()
        await handle.health.set_serving()  # no effect once draining
        assert await _status(handle.port) == health_pb2.HealthCheckResponse.NOT_SERVING
        await handle.stop(0.1)
        assert stopped.is_set()
        assert events == ["background stopped", "closed first", "closed second"]

    asyncio.run(main())


def test_run_until_signal_stops_on_sigterm() -> None:
    async def main() -> None:
        events: list[str] = []
        handle, _ = await _started(events)
        with capture_logs() as logs:
            running = asyncio.create_task(run_until_signal(handle, 0.1, extra="detail"))
            await asyncio.sleep(0)  # it runs to its wait for a signal, handlers in place
            assert [entry["event"] for entry in logs] == ["listening"]
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(running, 10)
        listening = next(entry for entry in logs if entry["event"] == "listening")
        assert listening["component"] == "probe"
        assert listening["port"] == handle.port
        assert listening["extra"] == "detail"
        assert [entry["event"] for entry in logs] == ["listening", "draining", "stopped"]
        assert events == ["background stopped", "closed first", "closed second"]

    asyncio.run(main())
