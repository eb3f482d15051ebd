"""Offered load far above capacity: the front sheds instead of queueing without bound,
its memory stays flat, and whole answers come back as soon as the load drops."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from tests.reliability.load import OpenLoop, report, summarize
from tests.reliability.process_mesh import USERS, ProcessMesh

OVERLOAD_RATE = 400.0
OVERLOAD_S = 4.0
DEADLINE_S = 0.2


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.mark.slow
def test_overload_sheds_with_bounded_latency_flat_memory_and_recovers(
    process_mesh: ProcessMesh,
) -> None:
    """400 req/s for 4 s with 200 ms deadlines (over 3x capacity): answered requests' p99
    stays under three deadlines (no unbounded queue), the front's RSS grows by less
    than 50 MiB, and at 20 req/s afterwards answers are whole again within 3 s."""
    process_mesh.wait_all_serving()
    pid = process_mesh.supervisor.pid_of("recommend")
    samples: list[float] = [rss_mib(pid)]
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.wait(0.25):
            samples.append(rss_mib(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    overload = OpenLoop(
        process_mesh.front, USERS, OVERLOAD_RATE, OVERLOAD_S, DEADLINE_S, max_requests=2000
    )
    try:
        overloaded = asyncio.run(overload.run())
    finally:
        stop_sampling.set()
        sampler.join(5)
    ended = time.monotonic()
    calm = OpenLoop(process_mesh.front, USERS, 20.0, 6.0, DEADLINE_S, max_requests=200)
    after = asyncio.run(calm.run())
    during, later = summarize(overloaded), summarize(after)
    whole = [o for o in after if o.response is not None and not o.response.degraded]
    first_whole = min(o.finished for o in whole) - ended if whole else float("inf")
    growth = max(samples) - samples[0]
    report(
        "overload",
        f"offered {OVERLOAD_RATE:.0f}/s for {OVERLOAD_S:.0f} s, deadline "
        f"{DEADLINE_S * 1000:.0f} ms: {during.line()}; front RSS {samples[0]:.0f} -> "
        f"max {max(samples):.0f} MiB; then 20/s: {later.line()}; first whole answer "
        f"{first_whole:.2f} s after the overload",
    )
    assert during.answered > 0
    # Client-side latency includes this process's own event-loop lag at 400/s (about
    # 200 ms at p99 on 2 cores); a queue without bound would show seconds.
    assert during.p99_ms < 3 * DEADLINE_S * 1000
    assert growth < 50
    assert first_whole < 3.0
    tail = [o for o in after if o.started > ended + 3.0]
    assert tail
    assert all(o.response is not None and not o.response.degraded for o in tail)
