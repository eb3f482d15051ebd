"""Client channels to downstream services: round-robin over replicas, traced."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from opentelemetry.trace import TracerProvider

from recmesh.telemetry.interceptors import client_interceptors


def target_for(addresses: Sequence[str]) -> str:
    """A gRPC target that spreads calls over every replica address (host:port)."""
    if not addresses:
        raise ValueError("at least one address is needed")
    if len(addresses) == 1:
        return addresses[0]
    return "ipv4:" + ",".join(addresses)


def downstream_channel(
    addresses: Sequence[str], tracer_provider: TracerProvider
) -> grpc.aio.Channel:
    """An insecure loopback channel with client-side round-robin and tracing."""
    options = [
        ("grpc.lb_policy_name", "round_robin"),
        ("grpc.enable_retries", 0),
        ("grpc.max_receive_message_length", 16 * 1024 * 1024),
        # Reconnect fast after a replica restarts.
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
    ]
    return grpc.aio.insecure_channel(
        target_for(addresses),
        options=options,
        interceptors=client_interceptors(tracer_provider),
    )
