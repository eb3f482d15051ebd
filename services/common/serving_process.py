"""Wires one serving process: pointer watch, version registry, server, readiness.

Every serving service is the same shape: it follows the serving pointer,
loads the version it names into memory with a service-specific loader, and
answers requests with a servicer that reads loaded versions from the registry.
It reports SERVING once its first version is loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import grpc
import structlog
from opentelemetry.trace import TracerProvider

from recmesh.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.telemetry.metrics import ServerMetrics
from services.common.options import CommonOptions
from services.common.pointer_watch import PointerWatch
from services.common.runner import ServerHandle
from services.common.server_setup import bind, build_server
from services.common.versions import VersionLoader, VersionRegistry

log = structlog.get_logger("recmesh.serving_process")

T = TypeVar("T")


async def start_serving_process(
    *,
    component: str,
    service_full_names: Sequence[str],
    options: CommonOptions,
    loader: VersionLoader[T],
    register: Callable[[grpc.aio.Server, VersionRegistry[T]], None],
    tracer_provider: TracerProvider,
    metrics: ServerMetrics,
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    closers: Sequence[Callable[[], Awaitable[None]]] = (),
) -> ServerHandle:
    """Builds, binds and starts the server; returns once it listens (health NOT_SERVING
    until the first serving version is loaded)."""
    keys = KeySchema(options.etcd_prefix)
    first_loaded = asyncio.Event()

    async def on_pointer(pointer: records_pb2.ServingPointer) -> None:
        await registry.on_pointer(pointer)
        if registry.current is not None:
            first_loaded.set()

    watch = PointerWatch(list(options.etcd_endpoints), keys, on_pointer, tls=options.tls)

    def on_loaded(version: str) -> None:
        metrics.version_loaded(version)

    registry: VersionRegistry[T] = VersionRegistry(
        component,
        loader,
        watch.read_current,
        on_refused=metrics.version_refused,
        on_loaded=on_loaded,
    )
    server, health = build_server(
        service_full_names=service_full_names,
        register=lambda s: register(s, registry),
        tracer_provider=tracer_provider,
        metrics=metrics,
    )
    port = bind(server, options.host, options.port, options.tls)
    await server.start()

    async def become_ready() -> None:
        await first_loaded.wait()
        await health.set_serving()
        log.info("serving", component=component, port=port)

    tasks = [
        asyncio.create_task(watch.run(), name=f"{component}-pointer-watch"),
        asyncio.create_task(become_ready(), name=f"{component}-ready"),
        *(asyncio.create_task(job(), name=f"{component}-background") for job in background),
    ]
    return ServerHandle(
        component=component,
        server=server,
        port=port,
        health=health,
        background=tasks,
        closers=[watch.close, *closers],
    )
