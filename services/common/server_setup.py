"""Builds a grpc.aio server with the standard chains, health and reflection."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc
from opentelemetry.trace import TracerProvider

from recmesh.rpc.health import HealthReporter, add_health_and_reflection
from recmesh.rpc.listen import bind_port
from recmesh.rpc.tls import TlsFiles
from recmesh.telemetry.interceptors import server_interceptors
from recmesh.telemetry.metrics import ServerMetrics

MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def build_server(
    *,
    service_full_names: Sequence[str],
    register: Callable[[grpc.aio.Server], None],
    tracer_provider: TracerProvider,
    metrics: ServerMetrics,
    extra_interceptors: Sequence[grpc.aio.ServerInterceptor[Any, Any]] = (),
) -> tuple[grpc.aio.Server, HealthReporter]:
    """A server whose chain is instrumentation (tracing, metrics, errors), then extra; health
    starts NOT_SERVING. Call inside the running event loop; add a port and start it."""
    server = grpc.aio.server(
        interceptors=server_interceptors(tracer_provider, metrics, extra_interceptors),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    register(server)
    health = add_health_and_reflection(server, service_full_names)
    return server, health


def bind(server: grpc.aio.Server, host: str, port: int, tls: TlsFiles | None = None) -> int:
    """Binds a plaintext port, or with tls one that requires a client certificate signed
    by tls.ca; returns the port actually bound (port 0 picks one)."""
    return bind_port(server, host, port, tls)
