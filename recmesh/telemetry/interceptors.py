"""The interceptor chain every server uses, built in one place.

Outermost first: the instrumenting interceptor (OpenTelemetry span joined to the
caller's trace, metrics, error mapping, malformed bodies), then `extra` (for
example authentication). Clients trace their calls with traced stubs
(recmesh.telemetry.traced_stub) rather than client interceptors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from opentelemetry.trace import TracerProvider

from recmesh.rpc.server_instrumentation import InstrumentingInterceptor
from recmesh.telemetry.metrics import ServerMetrics


def server_interceptors(
    tracer_provider: TracerProvider,
    metrics: ServerMetrics | None,
    extra: Sequence[grpc.aio.ServerInterceptor[Any, Any]] = (),
) -> list[grpc.aio.ServerInterceptor[Any, Any]]:
    """Instrumentation, then `extra`."""
    return [InstrumentingInterceptor(tracer_provider, metrics), *extra]
