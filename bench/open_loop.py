"""The open-loop schedule every load generator here uses.

Calls leave on a fixed schedule, one every 1/rate seconds, whatever the answers do;
each call is told its scheduled send time, so that latency is counted from it and
queueing anywhere (in the servers or in the client) shows in the figures instead of
being hidden by coordinated omission.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any


async def run_open_loop(
    rate: float, duration: float, send: Callable[[int, float], Coroutine[Any, Any, None]]
) -> float:
    """Starts send(i, scheduled) for i in range(rate * duration) on schedule, waits for
    all of them, and returns the seconds from the first scheduled send to the last
    answer."""
    start = time.perf_counter() + 0.05
    tasks: list[asyncio.Task[None]] = []
    for i in range(int(rate * duration)):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i, scheduled)))
    await asyncio.gather(*tasks)
    return time.perf_counter() - start
