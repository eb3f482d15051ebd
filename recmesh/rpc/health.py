"""gRPC health checking and server reflection, added to every server."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection


class StartsNotServingHealthServicer(HealthServicer):  # type: ignore[misc]
    """grpcio-health-checking's servicer, except that the whole server ("") starts
    NOT_SERVING: the library's starts SERVING, which would tell callers and `recmesh up`
    that a server is ready before it has loaded anything."""

    def __init__(self, services: Sequence[str]) -> None:
        super().__init__()
        # No Watch can be open before the server starts, so the status map is set
        # directly (the library's own `set` is a coroutine, for a running server).
        self._server_status = {
            name: health_pb2.HealthCheckResponse.NOT_SERVING for name in ("", *services)
        }


class HealthReporter:
    """Sets the health of the whole server and of each named service together.

    Servers start NOT_SERVING and turn SERVING once ready; readiness may go back and
    forth while they run. Once `begin_draining` is called they stay NOT_SERVING:
    `set_serving` no longer has any effect.
    """

    def __init__(self, servicer: HealthServicer, services: Sequence[str]) -> None:
        self._servicer = servicer
        self._services = ("", *services)
        self._draining = False

    async def set_serving(self) -> None:
        """SERVING, unless the server is draining."""
        await self._set(health_pb2.HealthCheckResponse.SERVING)

    async def begin_draining(self) -> None:
        """NOT_SERVING for good: the server is going away."""
        self._draining = True
        await self.set_not_serving()

    async def set_not_serving(self) -> None:
        await self._set(health_pb2.HealthCheckResponse.NOT_SERVING)

    async def _set(self, status: health_pb2.HealthCheckResponse.ServingStatus.ValueType) -> None:
        for name in self._services:
            # Checked before each name: a drain that starts between two of them wins.
            if self._draining and status == health_pb2.HealthCheckResponse.SERVING:
                return
            await self._servicer.set(name, status)


def add_health_and_reflection(
    server: grpc.aio.Server, service_full_names: Sequence[str]
) -> HealthReporter:
    """Registers health (initially NOT_SERVING) and reflection for the given services."""
    servicer = StartsNotServingHealthServicer(service_full_names)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    reflection.enable_server_reflection(
        (*service_full_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    reporter = HealthReporter(servicer, service_full_names)
    return reporter
