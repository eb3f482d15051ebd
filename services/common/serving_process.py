"""Wires one serving process: pointer watch, version registry, server, readiness.

Every serving service is the same shape: it follows the serving pointer,
loads the version it names into memory with a service-specific loader, and
answers requests with a servicer that reads loaded versions from the registry.
Its health follows its versions by the service's readiness rule
(`services/common/readiness.py`): NOT_SERVING until its first version is loaded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import grpc
from opentelemetry.trace import TracerProvider

from recmesh.etcd.keys import KeySchema
from recmesh.rpc.listen import bind_port
from recmesh.server.build import build_server, server_interceptors
from recmesh.server.run import ServerHandle
from recmesh.telemetry.metrics import ServerMetrics
from services.common.options import CommonOptions
from services.common.pointer_state import PointerStateFile
from services.common.pointer_trust import PointerTrust
from services.common.pointer_watch import PointerWatch
from services.common.readiness import ReadinessRule, downstream_readiness
from services.common.timing import MonotonicClock
from services.common.version_events import MetricsPointerTrustEvents, MetricsVersionEvents
from services.common.version_health import follow_versions
from services.common.versions import VersionLoader, VersionRegistry

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
    readiness: ReadinessRule = downstream_readiness,
    clock: MonotonicClock = time.monotonic,
) -> ServerHandle:
    """Builds, binds and starts the server; returns once it listens (health NOT_SERVING
    until the readiness rule says otherwise). A pointer record accepted before (the
    state file) is pursued at once, before etcd is read. Raises PointerStateError when
    the state file is unreadable."""
    keys = KeySchema(options.etcd_prefix)
    trust = PointerTrust(
        component,
        options.pointer_keys,
        PointerStateFile(options.state_dir / f"{component}.pointer.json"),
        MetricsPointerTrustEvents(metrics),
        min_sequence=options.min_pointer_sequence,
    )
    watch = PointerWatch(
        list(options.etcd_endpoints),
        keys,
        lambda p: registry.on_pointer(p),
        trust=trust,
        tls=options.etcd_tls,
        credentials=options.etcd_credentials,
        on_reachability=metrics.etcd_reached,
    )
    registry: VersionRegistry[T] = VersionRegistry(
        component,
        loader,
        watch.read_current,
        policy=options.loads,
        events=MetricsVersionEvents(metrics),
        clock=clock,
    )
    if trust.current is not None:
        registry.point_to(trust.current)
    server, health = build_server(
        service_full_names=service_full_names,
        register=lambda s: register(s, registry),
        # Per-call RPC metrics unless switched off (options.telemetry).
        interceptors=server_interceptors(
            tracer_provider, metrics if options.telemetry.metrics else None
        ),
    )
    port = bind_port(server, options.host, options.port, options.tls)
    await server.start()

    follow = follow_versions(
        component=component,
        registry=registry,
        health=health,
        rule=readiness,
        metrics=metrics,
        clock=clock,
    )
    tasks = [
        asyncio.create_task(watch.run(), name=f"{component}-pointer-watch"),
        asyncio.create_task(follow, name=f"{component}-readiness"),
        *(asyncio.create_task(job(), name=f"{component}-background") for job in background),
    ]
    return ServerHandle(
        component=component,
        server=server,
        port=port,
        health=health,
        background=tasks,
        closers=[watch.close, registry.close, *closers],
    )
