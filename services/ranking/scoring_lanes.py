"""Keeps a challenger's Rank, shadow or staged, from ever holding up a champion Rank.

Ranking scores on its event loop: a champion Rank's XGBoost call is short and runs
there, with no thread hop. A challenger's model may be far slower (tens of ms a
request for thousands of deep trees), and a challenger Rank scoring on the loop would
make every champion call that arrives meanwhile wait. So a Rank the front marks
(services/common/call_arms.py) scores in a lane's worker thread (`score`): XGBoost's
predict releases the GIL, so the loop keeps serving champion calls while it runs.
There are two lanes, one thread each:

- SHADOW (thread `ranking-shadow`): a shadow Rank is refused at once,
  RESOURCE_EXHAUSTED with the shadow-shed ErrorInfo (`ShadowShedError`), while more
  than `shed_above` answering Rank items (champion or staged challenger) are in
  flight here, checked when it arrives and again before it scores (`admit_shadow`).
- CHALLENGER (thread `ranking-challenger`): a STAGED rollout's challenger Rank
  answers a user, so it is never shed, and it counts as answering while in flight.
  Its own thread means a shadow scoring never queues ahead of it. (The pointer names
  one challenger in one mode, so both lanes are busy together only while a released
  challenger's calls finish.) Challenger scorings queue behind each other, as they
  would on the loop, never behind the champion's.

One thread a lane keeps the off-loop work to one core's worth per lane on a
two-core replica; a slow challenger's own arm waits for it, which is what its latency
guardrail is there to see.

Off the loop is not off the CPU: on a busy replica a slow shadow's scoring still takes
cores the champion's loop (and the other services) could use. So on Linux, where a
thread is scheduled on its own, the shadow lane's thread lowers its own priority to
nice 19 when it starts (`SHADOW_NICE`): the kernel then gives shadow scoring only the
CPU nothing else wants, which is "shed first" at the scheduler. The challenger lane
keeps the process's priority: it answers users.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
from numpy.typing import NDArray

from recmesh.core.ranking.model import RankingModel
from services.common.call_arms import CallArm, ShadowShedError

#: Shadow calls are shed while more answering Rank items than this are in flight.
DEFAULT_SHED_ABOVE = 2

#: The nice value of the shadow lane's thread (Linux): the lowest CPU priority.
SHADOW_NICE = 19


def lower_thread_priority(nice: int = SHADOW_NICE) -> None:
    """Lowers the calling thread's CPU priority to `nice` (Linux only: elsewhere the
    call would reach the whole process, so it does nothing). Failing to is logged by
    nobody and harmless: the lane then runs at the process's priority."""
    if sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:
        return


class ScoringLanes:
    """Answering Rank items in flight, and the threads marked Ranks score in."""

    def __init__(self, shed_above: int = DEFAULT_SHED_ABOVE) -> None:
        if shed_above < 0:
            raise ValueError(f"shed_above is >= 0, not {shed_above!r}")
        self.shed_above = shed_above
        self.answering_in_flight = 0
        self._executors = {
            CallArm.SHADOW: ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="ranking-shadow",
                initializer=lower_thread_priority,
            ),
            CallArm.CHALLENGER: ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="ranking-challenger"
            ),
        }

    @contextmanager
    def answering(self, items: int = 1) -> Iterator[None]:
        """Counts `items` answering (champion or challenger) Rank items in flight for
        the block."""
        self.answering_in_flight += items
        try:
            yield
        finally:
            self.answering_in_flight -= items

    def admit_shadow(self) -> None:
        """Raises ShadowShedError while answering calls are in flight above the limit."""
        if self.answering_in_flight > self.shed_above:
            raise ShadowShedError(
                f"ranking sheds shadow calls: {self.answering_in_flight} answering Rank "
                f"items in flight (limit {self.shed_above})"
            )

    async def score(
        self, arm: CallArm, model: RankingModel, matrix: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        """`model.score(matrix)` in `arm`'s lane thread, off the event loop (champion
        calls score on the loop and have no lane: ValueError)."""
        executor = self._executors.get(arm)
        if executor is None:
            raise ValueError(f"{arm.value} calls score on the loop, not in a lane")
        return await asyncio.get_running_loop().run_in_executor(executor, model.score, matrix)

    def close(self) -> None:
        """Drops queued scorings (the server stops)."""
        for executor in self._executors.values():
            executor.shutdown(wait=False, cancel_futures=True)
