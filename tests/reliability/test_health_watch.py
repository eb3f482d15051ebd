"""Health.Watch works through every server's interceptor chain, so clients (the fronts'
round-robin channels among them) can follow a replica's health."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.reliability.process_mesh import ProcessMesh


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["recommend", "candidates", "features", "ranking", "control_plane"]
)
def test_health_watch_streams_serving(process_mesh: ProcessMesh, name: str) -> None:
    """Health.Watch on a serving server sends SERVING (it used to fail with UNKNOWN: the
    error-mapping interceptor iterated the coroutine handler)."""
    with grpc.insecure_channel(process_mesh.address_of(name)) as channel:
        stream = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=""), timeout=5
        )
        first = next(stream)
        stream.cancel()
    assert first.status == health_pb2.HealthCheckResponse.SERVING
