"""The serving processes' notion of time, injected so tests can drive it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

#: Seconds on a monotonic clock (time.monotonic in production).
MonotonicClock = Callable[[], float]
#: Waits the given seconds (asyncio.sleep in production).
Sleep = Callable[[float], Awaitable[None]]
