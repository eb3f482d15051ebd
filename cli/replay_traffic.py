"""Open-loop Recommend traffic for `recmesh replay`: a fixed rate, whatever the answers take.

Requests start on a schedule (one every 1/rps seconds), not when the previous answer
arrives, so a slow arm cannot slow the traffic that measures it. `stop` (set on SIGINT or
SIGTERM by the command) ends the schedule early; the requests already sent are awaited,
so the tally is whole. Users are taken in a
seeded random order, cycling, so a stage sees a stable mix. The tally counts answers
per arm, degraded answers, failures by status, and latency quantiles.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
import numpy as np

from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc


@dataclass
class TrafficTally:
    """What the traffic saw: per-arm answers, degraded answers, failures by status name."""

    sent: int = 0
    arms: Counter[str] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)
    degraded: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    def quantile_ms(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        return float(np.quantile(np.asarray(self.latencies_ms), q))

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "answered": sum(self.arms.values()),
            "arms": dict(self.arms),
            "serving_versions": dict(self.versions),
            "degraded": self.degraded,
            "failures": dict(self.failures),
            "p50_ms": round(self.quantile_ms(0.5), 2),
            "p99_ms": round(self.quantile_ms(0.99), 2),
        }


def parse_users(text: str) -> list[str]:
    """`A-B` (an inclusive range of integer ids) or a comma-separated list of ids."""
    text = text.strip()
    if "-" in text and "," not in text:
        low, _, high = text.partition("-")
        try:
            first, last = int(low), int(high)
        except ValueError as exc:
            raise ValueError(f"--users {text!r}: a range is two integers, A-B") from exc
        if first > last:
            raise ValueError(f"--users {text!r}: the range is empty")
        return [str(user) for user in range(first, last + 1)]
    users = [user.strip() for user in text.split(",") if user.strip()]
    if not users:
        raise ValueError("--users names no user")
    return users


async def replay(
    channel: grpc.aio.Channel,
    users: Sequence[str],
    *,
    rps: float,
    duration_s: float,
    k: int,
    timeout_s: float,
    seed: int,
    stop: asyncio.Event | None = None,
) -> TrafficTally:
    """Sends `rps` Recommend requests a second for `duration_s` seconds, or until `stop`
    is set."""
    stop = stop or asyncio.Event()
    stub = recommend_pb2_grpc.RecommendServiceStub(channel)
    order = list(users)
    random.Random(seed).shuffle(order)
    tally = TrafficTally()
    total = max(1, int(rps * duration_s))
    start = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []

    async def one(user: str) -> None:
        sent = time.perf_counter()
        try:
            response = await stub.Recommend(
                recommend_pb2.RecommendRequest(user_id=user, k=k), timeout=timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            tally.failures[exc.code().name] += 1
            return
        tally.latencies_ms.append((time.perf_counter() - sent) * 1000.0)
        tally.arms[response.arm or "champion"] += 1
        tally.versions[response.serving_version] += 1
        tally.degraded += int(response.degraded)

    for n in range(total):
        due = start + n / rps
        delay = due - time.perf_counter()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            break
        tally.sent += 1
        tasks.append(asyncio.create_task(one(order[n % len(order)])))
    await asyncio.gather(*tasks)
    return tally
