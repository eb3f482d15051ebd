"""A monotonic clock and an asyncio sleep that move only when a test advances them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class ManualTime:
    """`now` and `sleep` for code that takes an injected clock; `advance` wakes every
    sleeper whose time has come. `slept` records each requested delay, in order."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + seconds, waiter))
        await waiter

    def advance(self, seconds: float) -> None:
        self._now += seconds
        due = [s for s in self._sleepers if s[0] <= self._now]
        self._sleepers = [s for s in self._sleepers if s[0] > self._now]
        for _, waiter in due:
            if not waiter.done():
                waiter.set_result(None)


async def wait_until(condition: Callable[[], bool], within_s: float = 5.0) -> None:
    """Polls condition (real time) until it holds; fails the test after within_s."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)
