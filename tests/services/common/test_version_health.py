"""Health and the lag report follow the registry: SERVING through a switch, NOT_SERVING
and `serving_version_lagging` once the pointer's version has failed to load for longer
than the retry window, SERVING again when it loads."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from structlog.testing import LogCapture

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rpc.health import add_health_and_reflection
from recmesh.telemetry.metrics import ServerMetrics
from services.common.load_policy import LoadPolicy
from services.common.readiness import downstream_readiness
from services.common.version_health import follow_versions, lag_of
from services.common.versions import PointerSeen, VersionRegistry, VersionView
from tests.manual_time import ManualTime, wait_until

SERVICE = "recmesh.ranking.v1.RankingService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
POLICY = LoadPolicy(first_retry_s=1.0, max_retry_s=2.0, jitter=0.0, lag_window_s=30.0)


def _pointer(version: str, revision: int) -> records_pb2.ServingPointer:
    return records_pb2.ServingPointer(
        serving_version=version, manifest_sha256=version + "-sha", revision=revision
    )


def test_lag_is_time_since_the_pointer_named_a_version_not_served() -> None:
    """None when serving the pointer's version or before any pointer; else seconds."""
    pointer = PointerSeen("sv-b", "sv-b-sha", 3, since=100.0)
    view = VersionView("sv-a", frozenset({"sv-a"}), pointer, {}, "sv-b", 1, None)
    assert lag_of(view, 112.5) == 12.5
    assert lag_of(VersionView("sv-b", frozenset({"sv-b"}), pointer, {}, None, 0, None), 200) is None
    assert lag_of(VersionView(None, frozenset(), None, {}, None, 0, None), 200) is None


def test_health_and_lag_log_follow_a_failing_then_healing_load() -> None:
    """SERVING while the pointer's new version fails within the window; NOT_SERVING, the
    lag logged and the gauge at 1 past it; SERVING and caught up once a retry loads it."""
    capture = LogCapture()
    structlog.configure(processors=[capture])
    try:
        asyncio.run(_failing_then_healing(capture))
    finally:
        structlog.reset_defaults()


async def _failing_then_healing(capture: LogCapture) -> None:
    time = ManualTime()
    broken = {"sv-b-sha"}

    def loader(sha: str) -> str:
        if sha in broken:
            raise FileNotFoundError(f"{sha} is not in the store")
        return sha

    async def read_pointer() -> records_pb2.ServingPointer | None:
        return None

    registry: VersionRegistry[str] = VersionRegistry(
        "ranking", loader, read_pointer, policy=POLICY, clock=time.now, sleep=time.sleep
    )
    metrics = ServerMetrics("ranking")
    server = grpc.aio.server()
    health = add_health_and_reflection(server, [SERVICE])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    follower = asyncio.create_task(
        follow_versions(
            component="ranking",
            registry=registry,
            health=health,
            rule=downstream_readiness,
            metrics=metrics,
            clock=time.now,
        )
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = health_pb2_grpc.HealthStub(channel)
    status: list[int] = [NOT_SERVING]

    async def refresh() -> None:
        status[0] = (await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE))).status

    async def health_becomes(expected: int) -> None:
        for _ in range(400):
            await refresh()
            if status[0] == expected:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"health stayed {status[0]}, expected {expected}")

    def lagging() -> float | None:
        return metrics.registry.get_sample_value(
            "recmesh_serving_version_lagging", {"component": "ranking"}
        )

    def events(name: str) -> list[MutableMapping[str, Any]]:
        return [e for e in capture.entries if e["event"] == name]

    try:
        await health_becomes(NOT_SERVING)
        await registry.on_pointer(_pointer("sv-a", 1))
        await health_becomes(SERVING)

        # The pointer moves to a version whose artifact is missing: inside the window
        # the service still holds the version the front may ask for.
        await registry.on_pointer(_pointer("sv-b", 2))
        time.advance(29)
        await asyncio.sleep(0.05)
        await refresh()
        assert status[0] == SERVING
        assert not events("serving_version_lagging")

        # Past the window: NOT_SERVING with the reason, the lag logged and flagged.
        time.advance(2)
        await health_becomes(NOT_SERVING)
        await wait_until(lambda: bool(events("serving_version_lagging")))
        lag = events("serving_version_lagging")[0]
        assert (lag["serving_version"], lag["pointer_version"]) == ("sv-a", "sv-b")
        assert "not in the store" in str(lag["last_failure"])
        assert lagging() == 1.0
        not_serving = events("readiness_not_serving")[0]
        assert "sv-b" in str(not_serving["reason"])

        # The artifact appears: the next retry loads it, with no new pointer.
        broken.clear()
        time.advance(POLICY.max_retry_s)
        await health_becomes(SERVING)
        await wait_until(
            lambda: registry.current is not None and registry.current.version_id == "sv-b"
        )
        await wait_until(lambda: bool(events("serving_version_caught_up")))
        assert lagging() == 0.0
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        await registry.close()
        await channel.close(None)
        await server.stop(None)
