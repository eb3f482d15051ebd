"""One downstream service over its replicas: a channel and a breaker per replica, round
robin over the replicas not ejected, and degrading at once when none is left.

Each replica has its own channel (client-side health checking, so a replica that
is loading or draining fails fast) and its own `Breaker`: after a few consecutive
failures or deadline misses it is ejected, and a health probe with a short timeout
lets it back in (one trial call, then closed). A call that fails on a replica with
UNAVAILABLE from the transport is tried once more on another replica, within the
same deadline (every downstream call is a read). When every replica is ejected the
service is open: `call` raises `DownstreamOpenError` without waiting, and the
caller answers degraded at its normal speed. State changes are logged and exposed
as metrics (`recmesh_downstream_*`).

An address `dns:///NAME:PORT` (services/common/replica_names.py) is one replica per
address NAME resolves to, resolved at `start` and every `resolve_interval_s`: a new
address gets a replica, a vanished one is dropped once no call is in flight on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc

from recmesh.rpc.tls import TlsFiles
from recmesh.telemetry.metrics import ServerMetrics
from services.common.breaker import Breaker, BreakerPolicy, BreakerState, Clock
from services.common.channels import downstream_channel
from services.common.downstream_errors import (
    DownstreamCallError,
    DownstreamError,
    DownstreamOpenError,
    Verdict,
    is_transport_unavailable,
    judge,
)
from services.common.replica_names import (
    DnsTarget,
    Resolve,
    parse_dns_target,
    resolve_with_getaddrinfo,
)

log = structlog.get_logger("recmesh.downstream")

StubT = TypeVar("StubT")
R = TypeVar("R")

#: Makes one call on a replica's stub with the given timeout and decodes the reply,
#: raising MalformedReplyError when the reply is unusable.
Invoke = Callable[[StubT, float], Awaitable[R]]
#: A channel to one replica address and the caller's stub on it.
Connect = Callable[[str], tuple[grpc.aio.Channel, StubT]]
#: The same for a replica address found by resolving a name (the second argument),
#: which TLS checks the replica's certificate against.
ConnectResolved = Callable[[str, str], tuple[grpc.aio.Channel, StubT]]


@dataclass(frozen=True)
class DownstreamPolicy:
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    # A health probe of an ejected replica gives up after this long: a frozen process
    # must not hold the probe, and no user request waits on it.
    probe_timeout_s: float = 0.2
    # Below this much time left, a failed call is not tried on another replica.
    min_retry_s: float = 0.005
    # A deadline missed with less than this granted says nothing about the replica: a
    # whole Recommend takes 23 ms at p99 at 50 requests/s (docs/benchmarks.md), about
    # twice that when the two cores are busy, so a healthy replica misses shorter
    # deadlines, and a few callers granting them (a client with a 30 ms deadline) would
    # otherwise eject it for everyone. Such a miss is released: no verdict.
    min_judged_deadline_s: float = 0.05
    # How often a dns:/// address is resolved again: pods an autoscaler adds get calls
    # within this long of being ready (a headless Service lists ready pods only).
    resolve_interval_s: float = 10.0


class Replica(Generic[StubT]):
    """One replica: its address, channel, the caller's stub on it and its breaker;
    source is the dns:/// target it was resolved from (None for a plain address)."""

    def __init__(
        self,
        address: str,
        channel: grpc.aio.Channel,
        stub: StubT,
        breaker: Breaker,
        source: DnsTarget | None = None,
    ) -> None:
        self.address = address
        self.channel = channel
        self.stub = stub
        self.breaker = breaker
        self.source = source
        self.health = health_pb2_grpc.HealthStub(channel)
        self.in_flight = 0
        self.retired = False


class Downstream(Generic[StubT]):
    """The replicas of one downstream `service` (its stable name, e.g. "ranking")."""

    def __init__(
        self,
        service: str,
        addresses: Sequence[str],
        connect: Connect[StubT],
        metrics: ServerMetrics,
        policy: DownstreamPolicy | None = None,
        clock: Clock = time.monotonic,
        resolve: Resolve = resolve_with_getaddrinfo,
        connect_resolved: ConnectResolved[StubT] | None = None,
    ) -> None:
        """Plain addresses get their replica here; dns:/// ones at `start` (ValueError
        for a malformed dns: address, or no address at all)."""
        if not addresses:
            raise ValueError(f"{service}: at least one replica address is needed")
        self.service = service
        self._policy = policy or DownstreamPolicy()
        self._metrics = metrics
        self._clock = clock
        self._connect_resolved = connect_resolved or (lambda address, _name: connect(address))
        self._resolve = resolve
        self._replicas: list[Replica[StubT]] = []
        self._targets: list[DnsTarget] = []
        for address in addresses:
            target = parse_dns_target(address)
            if target is None:
                self._add(address, connect(address), None)
            else:
                self._targets.append(target)
        self._next = 0
        # Closed until `start` has resolved the dns:/// addresses: open then only if none did.
        self._open = False
        metrics.downstream_open.labels(metrics.component, service).set(0)
        self._probes: set[asyncio.Task[None]] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._resolver: asyncio.Task[None] | None = None

    @property
    def replicas(self) -> tuple[Replica[StubT], ...]:
        return tuple(self._replicas)

    @property
    def is_open(self) -> bool:
        """Every replica is ejected (or half-open, on trial): calls other than a trial
        fail without being attempted."""
        return self._open

    async def start(self) -> None:
        """Resolves the dns:/// addresses once, then keeps resolving them in the
        background until `close`. A name that does not resolve yet (no ready pod behind
        a headless Service) has no replica until it does: calls fail open meanwhile."""
        if self._targets and self._resolver is None:
            await self.resolve()
            self._resolver = asyncio.create_task(self._resolve_every_interval())

    async def resolve(self) -> None:
        """Resolves every dns:/// address now: a replica for each new address, and the
        replicas of vanished addresses dropped (closed after their calls in flight). A
        name that fails to resolve keeps its replicas: breakers judge them."""
        for target in self._targets:
            try:
                found = set(await self._resolve(target.name, target.port))
            except OSError as exc:
                log.warning(
                    "downstream_resolve_failed",
                    service=self.service,
                    target=str(target),
                    error=str(exc),
                )
                continue
            if not found:
                continue
            current = {r.address for r in self._replicas if r.source == target}
            added, gone = sorted(found - current), sorted(current - found)
            for address in added:
                self._add(address, self._connect_resolved(address, target.name), target)
            for replica in [r for r in self._replicas if r.source == target]:
                if replica.address in gone:
                    self._retire(replica)
            if added or gone:
                log.info(
                    "downstream_replicas_resolved",
                    service=self.service,
                    target=str(target),
                    added=added,
                    removed=gone,
                    replicas=len(self._replicas),
                )
        self._update_open()

    async def call(self, invoke: Invoke[StubT, R], timeout: float) -> R:  # noqa: ASYNC109
        """invoke's decoded reply from one replica within timeout seconds. Raises a
        DownstreamError: DownstreamOpenError at once when no replica is admitted,
        DownstreamCallError for a failed status, MalformedReplyError from invoke."""
        deadline = time.monotonic() + timeout
        tried: list[Replica[StubT]] = []
        failed: DownstreamError | None = None
        while True:
            replica = self._pick(tried)
            if replica is None and failed is not None:
                # Retrying a transport failure found no other replica: keep its detail.
                raise DownstreamOpenError(
                    f"{failed}; every other {self.service} replica is ejected after "
                    "consecutive failures"
                ) from failed
            if replica is None:
                raise DownstreamOpenError(
                    f"every {self.service} replica is ejected after consecutive failures"
                )
            tried.append(replica)
            try:
                return await self._attempt(replica, invoke, deadline)
            except DownstreamError as error:
                left = deadline - time.monotonic()
                if not is_transport_unavailable(error) or left < self._policy.min_retry_s:
                    raise
                if all(any(r is t for t in tried) for r in self._replicas):
                    raise
                failed = error

    async def close(self) -> None:
        if self._resolver is not None:
            self._resolver.cancel()
            await asyncio.gather(self._resolver, return_exceptions=True)
        for probe in self._probes:
            probe.cancel()
        await asyncio.gather(*self._probes, return_exceptions=True)
        await asyncio.gather(*self._closing)
        for replica in self._replicas:
            await replica.channel.close(None)

    async def _resolve_every_interval(self) -> None:
        while True:
            await asyncio.sleep(self._policy.resolve_interval_s)
            await self.resolve()

    def _add(
        self,
        address: str,
        connected: tuple[grpc.aio.Channel, StubT],
        source: DnsTarget | None,
    ) -> None:
        channel, stub = connected
        # The listener reports only while this replica is in the set: a dropped one's
        # late probe must not change the state of a replica that took its address.
        cell: list[Replica[StubT]] = []
        breaker = Breaker(self._policy.breaker, self._clock, self._listener(address, cell))
        replica = Replica(address, channel, stub, breaker, source)
        cell.append(replica)
        self._replicas.append(replica)
        metrics = self._metrics
        metrics.breaker_state.labels(metrics.component, self.service, address).set(0)

    def _retire(self, replica: Replica[StubT]) -> None:
        self._replicas = [r for r in self._replicas if r is not replica]
        replica.retired = True
        metrics = self._metrics
        metrics.breaker_state.remove(metrics.component, self.service, replica.address)
        if replica.in_flight == 0:
            self._close_retired(replica)

    def _close_retired(self, replica: Replica[StubT]) -> None:
        closing = asyncio.create_task(replica.channel.close(None))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _attempt(
        self, replica: Replica[StubT], invoke: Invoke[StubT, R], deadline: float
    ) -> R:
        breaker = replica.breaker
        granted = max(deadline - time.monotonic(), 0.0)
        replica.in_flight += 1
        try:
            reply = await invoke(replica.stub, granted)
        except grpc.aio.AioRpcError as exc:
            error = DownstreamCallError(exc)
            self._judge(breaker, error, granted)
            raise error from exc
        except DownstreamError as error:
            self._judge(breaker, error, granted)
            raise
        except BaseException:
            # Cancelled by the caller (or a bug in invoke): no verdict on the replica.
            breaker.released()
            raise
        finally:
            replica.in_flight -= 1
            if replica.retired and replica.in_flight == 0:
                self._close_retired(replica)
        breaker.succeeded()
        return reply

    def _judge(self, breaker: Breaker, error: DownstreamError, granted_s: float) -> None:
        verdict = judge(error, granted_s, self._policy.min_judged_deadline_s)
        if verdict is Verdict.FAILED:
            breaker.failed()
        elif verdict is Verdict.ANSWERED:
            breaker.succeeded()
        else:
            breaker.released()

    def _pick(self, tried: list[Replica[StubT]]) -> Replica[StubT] | None:
        self._start_due_probes()
        count = len(self._replicas)
        for step in range(count):
            index = (self._next + step) % count
            replica = self._replicas[index]
            if not any(replica is t for t in tried) and replica.breaker.admit():
                self._next = (index + 1) % count
                return replica
        return None

    def _start_due_probes(self) -> None:
        for replica in self._replicas:
            if replica.breaker.probe_due():
                replica.breaker.probe_started()
                probe = asyncio.create_task(self._probe(replica))
                self._probes.add(probe)
                probe.add_done_callback(self._probes.discard)

    async def _probe(self, replica: Replica[StubT]) -> None:
        # Every way out of a probe (an RPC error, cancellation at close, a bug) ends it,
        # so the replica is probed again after its next cooldown.
        passed = False
        try:
            reply = await replica.health.Check(
                health_pb2.HealthCheckRequest(), timeout=self._policy.probe_timeout_s
            )
            passed = reply.status == health_pb2.HealthCheckResponse.SERVING
        except grpc.aio.AioRpcError as exc:
            log.info(
                "downstream_probe_failed",
                service=self.service,
                replica=replica.address,
                code=exc.code().name,
                next_probe_in_s=replica.breaker.cooldown_s,
            )
        finally:
            if passed:
                replica.breaker.probe_passed()
            else:
                replica.breaker.probe_failed()

    def _listener(
        self, address: str, cell: list[Replica[StubT]]
    ) -> Callable[[BreakerState, BreakerState], None]:
        def on_change(old: BreakerState, new: BreakerState) -> None:
            if cell and cell[0].retired:
                return
            metrics = self._metrics
            metrics.breaker_state.labels(metrics.component, self.service, address).set(new.value)
            if new is BreakerState.OPEN:
                metrics.ejections.labels(metrics.component, self.service, address).inc()
            log.warning(
                _EVENTS[new],
                service=self.service,
                replica=address,
                previous=old.name.lower(),
            )
            self._update_open()

        return on_change

    def _update_open(self) -> None:
        # Open while no replica is closed: at most one trial call is let through then.
        now_open = all(r.breaker.state is not BreakerState.CLOSED for r in self._replicas)
        if now_open == self._open:
            return
        self._open = now_open
        self._metrics.downstream_open.labels(self._metrics.component, self.service).set(
            1 if now_open else 0
        )
        log.warning(
            "downstream_open" if now_open else "downstream_closed",
            service=self.service,
            replicas=len(self._replicas),
        )


_EVENTS = {
    BreakerState.OPEN: "downstream_replica_ejected",
    BreakerState.HALF_OPEN: "downstream_replica_half_open",
    BreakerState.CLOSED: "downstream_replica_restored",
}


async def connect_downstream(
    service: str,
    addresses: Sequence[str],
    stub: Callable[[grpc.aio.Channel], StubT],
    metrics: ServerMetrics,
    tls: TlsFiles | None = None,
    policy: DownstreamPolicy | None = None,
) -> Downstream[StubT]:
    """A started Downstream with one health-checked channel (downstream_channel) per
    replica; a replica resolved from dns:///NAME:PORT has its TLS certificate checked
    against NAME."""

    def connect(address: str) -> tuple[grpc.aio.Channel, StubT]:
        channel = downstream_channel(address, tls)
        return channel, stub(channel)

    def connect_resolved(address: str, name: str) -> tuple[grpc.aio.Channel, StubT]:
        channel = downstream_channel(address, tls, tls_name=name)
        return channel, stub(channel)

    downstream = Downstream(
        service, addresses, connect, metrics, policy, connect_resolved=connect_resolved
    )
    await downstream.start()
    return downstream
