"""Bounded open-loop Recommend load, and the figures the reliability tests report.

Requests are sent on a fixed schedule (n / rate seconds after the start), whether
or not earlier ones have been answered, up to `max_requests` or `duration_s`,
whichever comes first; each has its own client deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import grpc
import numpy as np

from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from services.recommend.answer import reason_label


@dataclass(frozen=True)
class Outcome:
    started: float
    finished: float
    response: recommend_pb2.RecommendResponse | None
    code: grpc.StatusCode

    @property
    def latency_ms(self) -> float:
        return (self.finished - self.started) * 1000

    @property
    def degraded(self) -> bool:
        return self.response is not None and self.response.degraded


@dataclass
class OpenLoop:
    address: str
    users: tuple[str, ...]
    rate: float
    duration_s: float
    deadline_s: float = 2.0
    k: int = 10
    max_requests: int = 5000
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> list[Outcome]:
        async with grpc.aio.insecure_channel(self.address) as channel:
            stub = recommend_pb2_grpc.RecommendServiceStub(channel)
            tasks: list[asyncio.Task[None]] = []
            start = time.monotonic()
            for n in range(self.max_requests):
                due = start + n / self.rate
                if due - start > self.duration_s or self.stopped.is_set():
                    break
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                user = self.users[n % len(self.users)]
                tasks.append(asyncio.create_task(self._one(stub, user)))
            await asyncio.gather(*tasks)
        return self.outcomes

    def stop(self) -> None:
        self.stopped.set()

    async def _one(self, stub: recommend_pb2_grpc.RecommendServiceAsyncStub, user: str) -> None:
        started = time.monotonic()
        try:
            response = await stub.Recommend(
                recommend_pb2.RecommendRequest(user_id=user, k=self.k), timeout=self.deadline_s
            )
        except grpc.aio.AioRpcError as exc:
            self.outcomes.append(Outcome(started, time.monotonic(), None, exc.code()))
            return
        self.outcomes.append(Outcome(started, time.monotonic(), response, grpc.StatusCode.OK))


@dataclass(frozen=True)
class Summary:
    sent: int
    answered: int
    errors: dict[str, int]
    degraded: dict[str, int]
    p50_ms: float
    p99_ms: float
    max_ms: float

    def line(self) -> str:
        return (
            f"sent {self.sent}, answered {self.answered}, errors {self.errors or 0}, "
            f"degraded {self.degraded or 0}, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
            f"max {self.max_ms:.1f} ms"
        )


def summarize(outcomes: list[Outcome]) -> Summary:
    answered = [o for o in outcomes if o.response is not None]
    latencies = np.array([o.latency_ms for o in answered] or [0.0])
    errors = Counter(o.code.name for o in outcomes if o.response is None)
    degraded = Counter(
        reason_label(o.response.degraded_reason)
        for o in answered
        if o.response is not None and o.response.degraded
    )
    return Summary(
        sent=len(outcomes),
        answered=len(answered),
        errors=dict(errors),
        degraded=dict(degraded),
        p50_ms=float(np.percentile(latencies, 50)),
        p99_ms=float(np.percentile(latencies, 99)),
        max_ms=float(latencies.max()),
    )


def recovered_at(outcomes: list[Outcome]) -> float | None:
    """When answers stopped being degraded for good: the finish time of the last degraded
    or failed answer (None when there was none)."""
    bad = [o.finished for o in outcomes if o.response is None or o.response.degraded]
    return max(bad) if bad else None


def report(name: str, text: str) -> None:
    """Prints a figure for docs/reliability.md (shown with `pytest -s` or on failure)."""
    print(f"[reliability] {name}: {text}", flush=True)
