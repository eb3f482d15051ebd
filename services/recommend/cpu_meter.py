"""The front process's CPU use over a sliding window, as a fraction of one core.

Shadow scoring is allowed only inside a CPU budget (`ShadowPolicy.cpu_budget`): the
front's own CPU time (`time.process_time`, every thread of the process) over about
the last second, divided by the wall time it covers. Sampling happens when asked,
no timer runs: the window spans from the newest sample at least `window_s` old to
now, so a front that was idle for a while measures the average since its last look
(low), which is what a budget for the next shadow wants to know.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

#: Shorter spans say little (process_time ticks can be coarse): report 0 until one
#: sample is at least this old.
MIN_SPAN_S = 0.05


class CpuMeter:
    """Process CPU over the last `window_s` seconds of wall time, in cores."""

    def __init__(
        self,
        window_s: float = 1.0,
        *,
        cpu: Callable[[], float] = time.process_time,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window_s = window_s
        self._cpu = cpu
        self._wall = wall
        self._samples: deque[tuple[float, float]] = deque([(wall(), cpu())])

    def cores(self) -> float:
        """CPU used per second of wall time over the window (1.0: one core busy)."""
        now, used = self._wall(), self._cpu()
        samples = self._samples
        samples.append((now, used))
        start = now - self._window_s
        # Keep the newest sample at or before the window's start as its left edge.
        while len(samples) > 2 and samples[1][0] <= start:
            samples.popleft()
        then, used_then = samples[0]
        span = now - then
        if span < MIN_SPAN_S:
            return 0.0
        return max(used - used_then, 0.0) / span
