"""A hung downstream costs a few slow answers, not every answer until it returns.

One service of the real process mesh is frozen (SIGSTOP: its sockets stay open, it
answers nothing) for 5 s under 50 Recommend/s with 500 ms client deadlines, after 4 s
of quiet: each p99 compared rests on about 200 answers (the 3rd slowest), not on the 2nd
slowest of about 130, so one answer delayed by the two busy cores does not decide it. The first
calls to it wait out their share of the deadline and open its breaker; after that the
front (or ranking, for features) degrades without waiting, so answers during the freeze
come back at the front's normal speed. After SIGCONT a health probe finds the service
SERVING again and whole answers return within seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np
import pytest

from tests.reliability.load import OpenLoop, Outcome, recovered_at, report, summarize
from tests.reliability.process_mesh import USERS, ProcessMesh

RATE = 50.0
DEADLINE_S = 0.5
WARM_UP_S = 0.5
QUIET_S = 4.0
FREEZE_S = 5.0
AFTER_S = 3.5
# The failures that open a breaker: three consecutive ones (BreakerPolicy).
OPENING_FAILURES = 3

EXPECTED_REASON = {
    "ranking": "ranking_unavailable",
    "features": "features_unavailable",
    "candidates": "candidates_unavailable",
}


@dataclass(frozen=True)
class Freeze:
    outcomes: list[Outcome]
    started: float
    frozen_at: float
    thawed_at: float


async def _freeze_under_load(mesh: ProcessMesh, name: str) -> Freeze:
    load = OpenLoop(
        mesh.front, USERS, rate=RATE, duration_s=60.0, deadline_s=DEADLINE_S, max_requests=3000
    )
    started = time.monotonic()
    runner = asyncio.create_task(load.run())
    await asyncio.sleep(WARM_UP_S + QUIET_S)
    frozen_at = time.monotonic()
    pid = mesh.freeze(name)
    try:
        await asyncio.sleep(FREEZE_S)
    finally:
        mesh.thaw(pid)
    thawed_at = time.monotonic()
    await asyncio.sleep(AFTER_S)
    load.stop()
    return Freeze(await runner, started, frozen_at, thawed_at)


def _p99_ms(outcomes: list[Outcome]) -> float:
    return float(np.percentile([o.latency_ms for o in outcomes], 99))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ranking", "features", "candidates"])
def test_frozen_downstream_degrades_at_normal_speed_once_its_breaker_opens(
    process_mesh: ProcessMesh, name: str
) -> None:
    """SIGSTOP of one service for 5 s at 50 req/s (500 ms deadlines): every answer is
    whole or degraded with that service's reason, none fails; once the first failures
    have opened the breaker, answers during the freeze have a p99 within 2x the quiet
    p99 measured in the same run; answers are whole again within 3 s of SIGCONT."""
    process_mesh.wait_all_serving()
    run = asyncio.run(_freeze_under_load(process_mesh, name))
    outcomes = run.outcomes
    summary = summarize(outcomes)
    quiet = [o for o in outcomes if run.started + WARM_UP_S <= o.started < run.frozen_at]
    degraded = sorted(
        (o for o in outcomes if o.started >= run.frozen_at and o.degraded),
        key=lambda o: o.finished,
    )
    assert len(degraded) >= OPENING_FAILURES, f"freezing {name} degraded nothing"
    # Every request sent before the failures that open the breaker came back was
    # already waiting on the frozen service: those are the slow answers it costs.
    opened_at = degraded[OPENING_FAILURES - 1].finished
    during = [o for o in outcomes if opened_at <= o.started < run.thawed_at]
    waited = [o for o in outcomes if run.frozen_at <= o.started < opened_at]
    recovered = recovered_at(outcomes)
    assert recovered is not None
    quiet_p99, freeze_p99 = _p99_ms(quiet), _p99_ms(during)
    # None waited when the breaker opened before any request reached the frozen service.
    waited_max = max((o.latency_ms for o in waited), default=0.0)
    report(
        f"SIGSTOP {name} {FREEZE_S:.0f} s",
        f"{summary.line()}; quiet p99 {quiet_p99:.1f} ms ({len(quiet)} answers); "
        f"breaker open {opened_at - run.frozen_at:.2f} s after the freeze, "
        f"{len(waited)} answers waited on it (max {waited_max:.0f} ms); "
        f"then during the freeze p99 {freeze_p99:.1f} ms ({len(during)} answers); "
        f"whole again {recovered - run.thawed_at:.2f} s after SIGCONT",
    )
    assert summary.errors == {}
    assert set(summary.degraded) == {EXPECTED_REASON[name]}
    for outcome in outcomes:
        assert outcome.response is not None
        assert len(outcome.response.items) == 10
    assert len(during) > 3 * RATE  # over 3 s of the freeze after the breaker opened
    assert all(o.degraded for o in during)
    slowest = sorted((round(o.latency_ms), round(o.started - run.frozen_at, 2)) for o in during)
    assert freeze_p99 <= 2 * quiet_p99, (quiet_p99, freeze_p99, "slowest (ms, s in)", slowest[-3:])
    assert recovered - run.thawed_at < 3.0
    after = [o for o in outcomes if o.started > recovered]
    assert len(after) > RATE / 2
    assert not any(o.degraded for o in after)
