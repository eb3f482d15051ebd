"""gRPC health checking and server reflection, added to every server."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection


class HealthReporter:
    """Sets the health of the whole server and of each named service together.

    Servers start NOT_SERVING, turn SERVING once ready, and go back to
    NOT_SERVING when they start draining.
    """

    def __init__(self, servicer: HealthServicer, services: Sequence[str]) -> None:
        self._servicer = servicer
        self._services = ("", *services)

    async def set_serving(self) -> None:
        await self._set(health_pb2.HealthCheckResponse.SERVING)

    async def set_not_serving(self) -> None:
        await self._set(health_pb2.HealthCheckResponse.NOT_SERVING)

    async def _set(self, status: health_pb2.HealthCheckResponse.ServingStatus.ValueType) -> None:
        for name in self._services:
            await self._servicer.set(name, status)


def add_health_and_reflection(
    server: grpc.aio.Server, service_full_names: Sequence[str]
) -> HealthReporter:
    """Registers health (initially NOT_SERVING) and reflection for the given services."""
    servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    reflection.enable_server_reflection(
        (*service_full_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    reporter = HealthReporter(servicer, service_full_names)
    return reporter
