"""A downstream service over its replicas, against real gRPC servers on port 0: round
robin, a transport failure moved to another replica, ejection after consecutive
failures, failing at once when every replica is ejected, probes that bring a replica
back, and which failures count. The breakers' clock is injected."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeAlias

import grpc
import pytest
from prometheus_client import generate_latest
from structlog.testing import capture_logs

from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.net.ports import free_loopback_port
from recmesh.rpc.error_info import status_trailer
from recmesh.telemetry.metrics import ServerMetrics
from recmesh.wire.rank_errors import features_unavailable
from services.common.breaker import BreakerPolicy, BreakerState
from services.common.channels import downstream_channel
from services.common.downstream import Downstream, DownstreamPolicy
from services.common.downstream_errors import (
    DownstreamCallError,
    DownstreamOpenError,
    MalformedReplyError,
)
from tests.services.downstream_fakes import Context, fake_ranking

Stub: TypeAlias = "ranking_pb2_grpc.RankingServiceAsyncStub"
POLICY = DownstreamPolicy(
    breaker=BreakerPolicy(failures_to_open=3, first_cooldown_s=1.0, max_cooldown_s=4.0),
    probe_timeout_s=0.5,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Replica:
    """A ranking server whose behaviour the test switches; counts the calls it got."""

    def __init__(self) -> None:
        self.calls = 0
        self.mode = "ok"

    async def rank(
        self, request: ranking_pb2.RankRequest, context: Context
    ) -> ranking_pb2.RankResponse:
        self.calls += 1
        if self.mode == "late":
            await asyncio.sleep(5)
        elif self.mode == "invalid":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad request")
        elif self.mode == "features":
            await context.abort(
                grpc.StatusCode.UNAVAILABLE,
                "features unavailable",
                status_trailer(
                    grpc.StatusCode.UNAVAILABLE, "features unavailable", features_unavailable()
                ),
            )
        return ranking_pb2.RankResponse(serving_version=request.serving_version)


@asynccontextmanager
async def replicas(count: int) -> AsyncIterator[tuple[list[Replica], list[str]]]:
    fakes = [Replica() for _ in range(count)]
    async with AsyncExitStack() as stack:
        addresses = [await stack.enter_async_context(fake_ranking(fake.rank)) for fake in fakes]
        yield fakes, addresses


def downstream(
    addresses: list[str], clock: FakeClock, metrics: ServerMetrics | None = None
) -> Downstream[Stub]:
    def connect(address: str) -> tuple[grpc.aio.Channel, Stub]:
        channel = downstream_channel(address)
        return channel, ranking_pb2_grpc.RankingServiceStub(channel)

    return Downstream(
        "ranking", addresses, connect, metrics or ServerMetrics("front"), POLICY, clock
    )


async def rank(stub: Stub, timeout: float) -> ranking_pb2.RankResponse:  # noqa: ASYNC109
    return await stub.Rank(ranking_pb2.RankRequest(serving_version="v1"), timeout=timeout)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def test_calls_go_round_robin_over_the_replicas() -> None:
    """Every replica gets its share of the calls."""

    async def scenario() -> None:
        async with replicas(2) as (fakes, addresses):
            pool = downstream(addresses, FakeClock())
            for _ in range(10):
                assert (await pool.call(rank, 2.0)).serving_version == "v1"
            await pool.close()
            assert [f.calls for f in fakes] == [5, 5]

    run(scenario)


def test_a_dead_replica_costs_no_call_and_is_ejected() -> None:
    """With one replica's port closed, every call still succeeds on the other (a
    transport UNAVAILABLE is tried on another replica), and after three failures the
    dead one is ejected: logged, and shown in the breaker and ejection metrics."""

    async def scenario() -> None:
        async with replicas(1) as (fakes, addresses):
            dead = f"127.0.0.1:{free_loopback_port()}"
            metrics = ServerMetrics("front")
            pool = downstream([dead, *addresses], FakeClock(), metrics)
            with capture_logs() as logs:
                for _ in range(10):
                    await pool.call(rank, 2.0)
            await pool.close()
            assert fakes[0].calls == 10
            assert pool.replicas[0].breaker.state is BreakerState.OPEN
            assert pool.replicas[1].breaker.state is BreakerState.CLOSED
            assert not pool.is_open
            ejected = [e for e in logs if e["event"] == "downstream_replica_ejected"]
            assert [(e["service"], e["replica"]) for e in ejected] == [("ranking", dead)]
            text = generate_latest(metrics.registry).decode()
            labels = f'component="front",replica="{dead}",service="ranking"'
            assert f"recmesh_downstream_breaker_state{{{labels}}} 2.0" in text
            assert f"recmesh_downstream_ejections_total{{{labels}}} 1.0" in text

    run(scenario)


def test_once_every_replica_is_ejected_calls_fail_at_once() -> None:
    """Three deadline misses eject a late replica; then the service is open and a call
    raises DownstreamOpenError without reaching the replica or waiting."""

    async def scenario() -> None:
        async with replicas(1) as (fakes, addresses):
            fakes[0].mode = "late"
            pool = downstream(addresses, FakeClock())
            for _ in range(3):
                with pytest.raises(DownstreamCallError) as caught:
                    await pool.call(rank, 0.1)
                assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
            assert pool.is_open
            started = time.monotonic()
            with pytest.raises(DownstreamOpenError):
                await pool.call(rank, 2.0)
            assert time.monotonic() - started < 0.05
            assert fakes[0].calls == 3
            await pool.close()

    run(scenario)


def test_a_probe_after_the_cooldown_brings_the_replica_back() -> None:
    """An ejected replica is probed (health check) once its cooldown is over; when it
    says SERVING, one trial call goes through and its success closes the breaker."""

    async def scenario() -> None:
        async with replicas(1) as (fakes, addresses):
            clock = FakeClock()
            fakes[0].mode = "late"
            pool = downstream(addresses, clock)
            for _ in range(3):
                with pytest.raises(DownstreamCallError):
                    await pool.call(rank, 0.1)
            fakes[0].mode = "ok"
            with pytest.raises(DownstreamOpenError):
                await pool.call(rank, 2.0)  # before the cooldown: no probe
            clock.now += 1.0
            with pytest.raises(DownstreamOpenError):
                await pool.call(rank, 2.0)  # starts the probe, still open meanwhile
            for _ in range(100):
                if pool.replicas[0].breaker.state is BreakerState.HALF_OPEN:
                    break
                await asyncio.sleep(0.01)
            with capture_logs() as logs:
                assert (await pool.call(rank, 2.0)).serving_version == "v1"
            assert pool.replicas[0].breaker.state is BreakerState.CLOSED
            assert not pool.is_open
            assert [e["event"] for e in logs] == [
                "downstream_replica_restored",
                "downstream_closed",
            ]
            await pool.close()

    run(scenario)


@pytest.mark.parametrize("mode", ["invalid", "features"])
def test_answers_about_the_request_or_what_is_behind_do_not_count(mode: str) -> None:
    """INVALID_ARGUMENT, and an UNAVAILABLE that carries an ErrorInfo reason (ranking
    telling of features), are the replica answering: they never eject it."""

    async def scenario() -> None:
        async with replicas(1) as (fakes, addresses):
            fakes[0].mode = mode
            pool = downstream(addresses, FakeClock())
            for _ in range(6):
                with pytest.raises(DownstreamCallError):
                    await pool.call(rank, 2.0)
            assert pool.replicas[0].breaker.state is BreakerState.CLOSED
            assert fakes[0].calls == 6  # a deliberate UNAVAILABLE is not retried
            await pool.close()

    run(scenario)


def test_malformed_replies_count_against_the_replica() -> None:
    """A reply the caller finds malformed is a failure of the replica that sent it."""

    async def malformed(stub: Stub, timeout: float) -> ranking_pb2.RankResponse:  # noqa: ASYNC109
        await rank(stub, timeout)
        raise MalformedReplyError("scores of the wrong length")

    async def scenario() -> None:
        async with replicas(1) as (_, addresses):
            pool = downstream(addresses, FakeClock())
            for _ in range(3):
                with pytest.raises(MalformedReplyError):
                    await pool.call(malformed, 2.0)
            assert pool.is_open
            await pool.close()

    run(scenario)


def test_a_probe_that_raises_something_unexpected_is_retried_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A probe that ends with an exception other than an RPC error still ends: the
    replica is probed again after its next cooldown, not left unprobed for good."""

    async def broken_check(*_: object, **__: object) -> object:
        raise RuntimeError("the health stub broke")

    async def scenario() -> None:
        async with replicas(1) as (fakes, addresses):
            clock = FakeClock()
            fakes[0].mode = "late"
            pool = downstream(addresses, clock)
            for _ in range(3):
                with pytest.raises(DownstreamCallError):
                    await pool.call(rank, 0.1)
            breaker = pool.replicas[0].breaker
            monkeypatch.setattr(pool.replicas[0].health, "Check", broken_check)
            clock.now += 1.0
            with pytest.raises(DownstreamOpenError):
                await pool.call(rank, 2.0)  # starts the probe, which raises
            await asyncio.sleep(0.05)
            assert not breaker.probe_due()
            clock.now += breaker.cooldown_s
            assert breaker.probe_due()
            await pool.close()

    run(scenario)


def test_a_retry_that_finds_every_other_replica_ejected_keeps_the_first_error() -> None:
    """A transport UNAVAILABLE from the one replica left, when every other replica is
    ejected, fails with both: the UNAVAILABLE's detail and that the others are ejected."""

    async def scenario() -> None:
        async with replicas(1) as (_, addresses):
            dead = f"127.0.0.1:{free_loopback_port()}"
            pool = downstream([*addresses, dead], FakeClock())
            for _ in range(3):
                pool.replicas[0].breaker.failed()
            assert pool.replicas[0].breaker.state is BreakerState.OPEN
            with pytest.raises(DownstreamOpenError) as caught:
                await pool.call(rank, 2.0)
            message = str(caught.value)
            assert message.startswith("UNAVAILABLE: ")
            assert message.endswith(
                "; every other ranking replica is ejected after consecutive failures"
            )
            await pool.close()

    run(scenario)


def test_deadlines_missed_under_the_floor_do_not_eject_a_replica() -> None:
    """A late replica missing 30 ms deadlines (under the 50 ms floor) stays closed however
    often it misses them; three misses of a 100 ms deadline eject it."""

    async def scenario() -> None:
        async with replicas(1) as (fakes, addresses):
            fakes[0].mode = "late"
            pool = downstream(addresses, FakeClock())
            breaker = pool.replicas[0].breaker
            assert POLICY.min_judged_deadline_s == 0.05
            for _ in range(6):
                with pytest.raises(DownstreamCallError):
                    await pool.call(rank, 0.03)
            assert breaker.state is BreakerState.CLOSED
            for _ in range(3):
                with pytest.raises(DownstreamCallError):
                    await pool.call(rank, 0.1)
            assert pool.replicas[0].breaker.state is BreakerState.OPEN
            await pool.close()

    run(scenario)
