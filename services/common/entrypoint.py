"""The shared shape of a serving process's main(): logs, tracing, serve, drain."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from opentelemetry.sdk.trace import TracerProvider

from recmesh.server.run import ServerHandle, run_until_signal
from recmesh.telemetry.logging import configure_logging
from recmesh.telemetry.metrics import ServerMetrics
from recmesh.telemetry.tracing import create_tracer_provider
from services.common.options import CommonOptions
from services.common.pointer_state import PointerStateError

ServerFactory = Callable[[TracerProvider, ServerMetrics], Awaitable[ServerHandle]]


def run_service(component: str, options: CommonOptions, factory: ServerFactory) -> int:
    """Runs one serving process until SIGTERM/SIGINT; returns its exit code: 2, after
    one line naming the file, when its pointer state file cannot be read."""
    switches = options.telemetry
    configure_logging(component, options.log_level, switches.logs)

    async def serve() -> None:
        provider = create_tracer_provider(
            f"recmesh-{component}",
            options.span_file,
            record=switches.spans,
            export=switches.span_export,
        )
        metrics = ServerMetrics(component)
        if options.metrics_port is not None:
            metrics.serve_http(options.metrics_port, options.metrics_host)
        try:
            handle = await factory(provider, metrics)
            await run_until_signal(handle, options.drain_seconds)
        finally:
            provider.shutdown()

    try:
        asyncio.run(serve())
    except PointerStateError as exc:
        print(f"recmesh-{component}: {exc}", file=sys.stderr)
        return 2
    return 0
