"""Builds a grpc.aio server: options, the interceptor chain, servicers, health and
reflection.

The chain, outermost first: the instrumenting interceptor (OpenTelemetry span joined
to the caller's trace, metrics, error mapping, malformed bodies), then `extra` (for
example authentication, whose errors the instrumenting interceptor maps like any
handler's). Clients trace their calls with traced stubs (recmesh.telemetry.traced_stub)
rather than client interceptors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import grpc
from opentelemetry.trace import TracerProvider

from recmesh.rpc.health import HealthReporter, add_health_and_reflection
from recmesh.server.instrumentation import InstrumentingInterceptor
from recmesh.server.interceptor_types import ServerInterceptorBase
from recmesh.server.options import server_options
from recmesh.telemetry.metrics import ServerMetrics


def server_interceptors(
    tracer_provider: TracerProvider,
    metrics: ServerMetrics | None,
    extra: Sequence[ServerInterceptorBase] = (),
) -> list[ServerInterceptorBase]:
    """Instrumentation, then `extra`."""
    return [InstrumentingInterceptor(tracer_provider, metrics), *extra]


def build_server(
    *,
    service_full_names: Sequence[str],
    register: Callable[[grpc.aio.Server], None],
    interceptors: Sequence[ServerInterceptorBase],
) -> tuple[grpc.aio.Server, HealthReporter]:
    """A server with the standard options and `interceptors` (a `server_interceptors`
    chain), `register` having added its servicers, and health (starting NOT_SERVING)
    and reflection for service_full_names. Call inside the running event loop; bind a
    port (recmesh.rpc.listen.bind_port) and start it."""
    server = grpc.aio.server(interceptors=interceptors, options=server_options())
    register(server)
    health = add_health_and_reflection(server, service_full_names)
    return server, health
