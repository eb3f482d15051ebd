"""Runs a built server until SIGTERM or SIGINT, then drains it.

Draining: health goes NOT_SERVING first, for good (so balancers and health watchers
stop sending), in-flight calls get the grace period to finish, then background tasks
stop and resources close. The serving processes and the control plane run this way.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import structlog

from recmesh.rpc.health import HealthReporter

log = structlog.get_logger("recmesh.runner")


@dataclass
class ServerHandle:
    """A started server with what must stop with it."""

    component: str
    server: grpc.aio.Server
    port: int
    health: HealthReporter
    background: list[asyncio.Task[None]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def stop(self, grace: float) -> None:
        await self.health.begin_draining()
        log.info("draining", component=self.component, grace_s=grace)
        await self.server.stop(grace)
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        for close in self.closers:
            await close()
        log.info("stopped", component=self.component)


async def run_until_signal(handle: ServerHandle, grace: float, **details: object) -> None:
    """Logs "listening" (with `details`), waits for SIGTERM or SIGINT, then stops the
    server with `grace` seconds for in-flight calls."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("listening", component=handle.component, port=handle.port, **details)
    await stop.wait()
    await handle.stop(grace)
