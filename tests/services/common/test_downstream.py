"""A downstream service over its replicas, against real gRPC servers on port 0: round
robin, a transport failure moved to another replica, ejection after consecutive
failures, failing at once when every replica is ejected, probes that bring a replica
back, which failures count, and a dns:/// address resolved (by an injected resolver)
into one replica per address. The breakers' clock is injected."""

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
from services.common.replica_names import Resolve, resolve_with_getaddrinfo
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
        elif self.mode == "slow":
            await asyncio.sleep(0.3)
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
    addresses: list[str],
    clock: FakeClock,
    metrics: ServerMetrics | None = None,
    resolve: Resolve = resolve_with_getaddrinfo,
    policy: DownstreamPolicy = POLICY,
) -> Downstream[Stub]:
    def connect(address: str) -> tuple[grpc.aio.Channel, Stub]:
        channel = downstream_channel(address)
        return channel, ranking_pb2_grpc.RankingServiceStub(channel)

    return Downstream(
        "ranking", addresses, connect, metrics or ServerMetrics("front"), policy, clock, resolve
    )


class FakeResolver:
    """Resolves every name to the addresses the test sets (or fails, with none set)."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, name: str, port: int) -> list[str]:
        self.asked.append((name, port))
        if not self.addresses:
            raise OSError(f"{name}: Name or service not known")
        return list(self.addresses)


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


NAME = "dns:///recmesh-ranking:50054"


def test_a_resolved_name_is_one_replica_per_address() -> None:
    """dns:///NAME:PORT is resolved at start into one replica per address, and calls
    spread over them."""

    async def scenario() -> None:
        async with replicas(2) as (fakes, addresses):
            resolver = FakeResolver(addresses)
            pool = downstream([NAME], FakeClock(), resolve=resolver)
            assert list(pool.replicas) == []  # nothing resolved before start
            await pool.start()
            assert resolver.asked == [("recmesh-ranking", 50054)]
            assert sorted(r.address for r in pool.replicas) == sorted(addresses)
            assert not pool.is_open
            for _ in range(10):
                assert (await pool.call(rank, 2.0)).serving_version == "v1"
            await pool.close()
            assert [f.calls for f in fakes] == [5, 5]

    run(scenario)


def test_a_hung_resolved_replica_is_ejected_alone() -> None:
    """Of two replicas behind one name, the hung one is ejected after three deadline
    misses (the other's answers in between do not reset its count) and the other
    serves every call after."""

    async def scenario() -> None:
        async with replicas(2) as (fakes, addresses):
            fakes[0].mode = "late"
            pool = downstream([NAME], FakeClock(), resolve=FakeResolver(addresses))
            await pool.start()
            hung = next(r for r in pool.replicas if r.address == addresses[0])
            missed: list[grpc.StatusCode] = []
            for _ in range(6):
                try:
                    await pool.call(rank, 0.1)
                except DownstreamCallError as error:
                    missed.append(error.code)
            assert missed == [grpc.StatusCode.DEADLINE_EXCEEDED] * 3
            assert hung.breaker.state is BreakerState.OPEN
            assert not pool.is_open
            for _ in range(5):
                assert (await pool.call(rank, 2.0)).serving_version == "v1"
            assert (fakes[0].calls, fakes[1].calls) == (3, 8)
            await pool.close()

    run(scenario)


def test_a_newly_resolved_replica_gets_calls_after_the_next_resolution() -> None:
    """A replica the name resolves to later (a pod the autoscaler added) gets calls once
    the periodic resolution has found it."""

    async def scenario() -> None:
        async with replicas(2) as (fakes, addresses):
            resolver = FakeResolver(addresses[:1])
            policy = DownstreamPolicy(breaker=POLICY.breaker, resolve_interval_s=0.05)
            pool = downstream([NAME], FakeClock(), resolve=resolver, policy=policy)
            await pool.start()
            for _ in range(4):
                await pool.call(rank, 2.0)
            assert [f.calls for f in fakes] == [4, 0]
            resolver.addresses = list(addresses)
            for _ in range(100):
                if len(pool.replicas) == 2:
                    break
                await asyncio.sleep(0.01)
            for _ in range(4):
                await pool.call(rank, 2.0)
            await pool.close()
            assert [f.calls for f in fakes] == [6, 2]

    run(scenario)


def test_a_vanished_replica_is_dropped_after_its_call_in_flight() -> None:
    """A replica whose address is no longer resolved gets no new call; the call in
    flight on it completes, then its channel is closed and its metric removed."""

    async def scenario() -> None:
        async with replicas(2) as (fakes, addresses):
            resolver = FakeResolver(addresses)
            metrics = ServerMetrics("front")
            pool = downstream([NAME], FakeClock(), metrics, resolver)
            await pool.start()
            fake_of = dict(zip(addresses, fakes, strict=True))
            vanishing, staying = pool.replicas  # the first call goes to the first
            fake_of[vanishing.address].mode = "slow"
            in_flight = asyncio.create_task(pool.call(rank, 2.0))
            await asyncio.sleep(0.05)
            assert vanishing.in_flight == 1
            resolver.addresses = [staying.address]
            with capture_logs() as logs:
                await pool.resolve()
            assert pool.replicas == (staying,)
            assert (await in_flight).serving_version == "v1"
            for _ in range(4):
                await pool.call(rank, 2.0)
            assert (fake_of[vanishing.address].calls, fake_of[staying.address].calls) == (1, 4)
            await asyncio.sleep(0.05)
            with pytest.raises(grpc.aio.UsageError):
                await rank(vanishing.stub, 1.0)
            resolved = [e for e in logs if e["event"] == "downstream_replicas_resolved"]
            assert [(e["added"], e["removed"]) for e in resolved] == [([], [vanishing.address])]
            text = generate_latest(metrics.registry).decode()
            assert f'replica="{vanishing.address}"' not in text
            await pool.close()

    run(scenario)


def test_a_name_that_does_not_resolve_fails_open_until_it_does() -> None:
    """With no address for the name at start the service is open (calls fail at once);
    a later failure to resolve keeps the replicas found before."""

    async def scenario() -> None:
        async with replicas(1) as (_, addresses):
            resolver = FakeResolver([])
            pool = downstream([NAME], FakeClock(), resolve=resolver)
            with capture_logs() as logs:
                await pool.start()
            assert [e["event"] for e in logs] == ["downstream_resolve_failed", "downstream_open"]
            assert pool.is_open
            with pytest.raises(DownstreamOpenError):
                await pool.call(rank, 2.0)
            resolver.addresses = list(addresses)
            await pool.resolve()
            assert (await pool.call(rank, 2.0)).serving_version == "v1"
            resolver.addresses = []
            await pool.resolve()
            assert [r.address for r in pool.replicas] == addresses
            assert (await pool.call(rank, 2.0)).serving_version == "v1"
            await pool.close()

    run(scenario)


def test_plain_and_resolved_addresses_mix() -> None:
    """A plain HOST:PORT is one replica from construction, never resolved; a dns:///
    address beside it adds its own."""

    async def scenario() -> None:
        async with replicas(2) as (fakes, addresses):
            resolver = FakeResolver(addresses[1:])
            pool = downstream([addresses[0], NAME], FakeClock(), resolve=resolver)
            assert [r.address for r in pool.replicas] == addresses[:1]
            await pool.start()
            assert [r.address for r in pool.replicas] == addresses
            for _ in range(4):
                await pool.call(rank, 2.0)
            await pool.close()
            assert [f.calls for f in fakes] == [2, 2]

    run(scenario)
