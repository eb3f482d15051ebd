"""The worker threads a version registry loads in, apart from asyncio's default executor.

A load runs in a thread that cannot be stopped, so a load abandoned while the artifact
store hangs keeps its worker until the read returns. In the default executor (six
workers on two cores) a few pointer moves during such a hang would take every worker,
and every later `asyncio.to_thread` of the process (new loads, the front's
RecordInteractions) would queue behind them. Each registry therefore loads in its own
small pool of named threads: a hung store can stall only that registry's loads. When a
load finds every worker busy it is logged (`serving_version_load_workers_busy`) and
counted (`saturated`): its attempt waits for a worker.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import structlog

log = structlog.get_logger("recmesh.versions")

T = TypeVar("T")

#: A registry runs one load at a time; the other workers are for abandoned loads still
#: stuck in a hung store, so three pointer moves during a hang still leave one free.
DEFAULT_LOAD_WORKERS = 4


class LoadExecutor:
    """Runs one registry's loads on `workers` threads named `<component>-version-load`."""

    def __init__(self, component: str, workers: int = DEFAULT_LOAD_WORKERS) -> None:
        if workers < 1:
            raise ValueError("a load executor needs at least one worker")
        self.component = component
        self.workers = workers
        #: How many loads found every worker busy when they were submitted.
        self.saturated = 0
        self._busy = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=f"{component}-version-load"
        )

    @property
    def busy(self) -> int:
        """Loads submitted and not yet returned (running, or queued for a worker)."""
        with self._lock:
            return self._busy

    async def run(self, load: Callable[[str], T], argument: str) -> T:
        """load(argument) on a worker thread, with the caller's context variables.
        Cancelling the caller drops a queued load; a running one keeps its worker until
        it returns."""
        with self._lock:
            busy = self._busy
            self._busy += 1
        if busy >= self.workers:
            self.saturated += 1
            log.warning(
                "serving_version_load_workers_busy",
                component=self.component,
                workers=self.workers,
                loads_in_flight=busy + 1,
            )
        context = contextvars.copy_context()
        future: Future[T] = self._pool.submit(context.run, load, argument)
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        """Drops queued loads and returns without waiting for running ones."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _release(self, _: Future[Any]) -> None:
        with self._lock:
            self._busy -= 1
