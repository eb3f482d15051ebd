"""The interceptor chains every server and client uses, built in one place.

Server chain, outermost first: OpenTelemetry (one span per call, joined to the
caller's trace from the metadata), then error mapping (RecmeshError -> status),
so the span records the final status. Health and reflection calls are not traced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors, aio_server_interceptor
from opentelemetry.trace import TracerProvider

from recmesh.rpc.error_interceptor import ErrorMappingInterceptor

_UNTRACED_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def _traced(details: grpc.HandlerCallDetails) -> bool:
    """Health checks and reflection are not traced (a plain prefix test: this runs on
    every call, and the instrumentation's own filters cost far more)."""
    return not details.method.startswith(_UNTRACED_PREFIXES)


def server_interceptors(
    tracer_provider: TracerProvider,
    extra: Sequence[grpc.aio.ServerInterceptor[Any, Any]] = (),
) -> list[grpc.aio.ServerInterceptor[Any, Any]]:
    """Tracing, then `extra` (for example authentication), then error mapping."""
    tracing: grpc.aio.ServerInterceptor[Any, Any] = aio_server_interceptor(  # type: ignore[no-untyped-call]
        tracer_provider=tracer_provider, filter_=_traced
    )
    return [tracing, *extra, ErrorMappingInterceptor()]


def client_interceptors(tracer_provider: TracerProvider) -> list[grpc.aio.ClientInterceptor]:
    """Client-side spans that propagate the trace context in the call metadata."""
    interceptors: list[grpc.aio.ClientInterceptor] = aio_client_interceptors(  # type: ignore[no-untyped-call]
        tracer_provider=tracer_provider
    )
    return interceptors
