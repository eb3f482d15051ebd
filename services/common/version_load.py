"""One version's load, retried with capped exponential backoff until it succeeds or is
abandoned.

Each attempt runs the loader (read, verify checksums, build in-memory structures) in a
worker thread of the registry's own `LoadExecutor`. Demand shortens a backoff:
`retry_early` starts the next attempt now when a request asks for the version and at
least `first_retry_s` has passed since the last failure (another service, or the
front, already loaded it, so the cause may be gone), which bounds retries under
traffic to one per `first_retry_s`.

A thread cannot be stopped: abandoning a job cancels the task that waits for it, so
whatever the thread returns later is dropped, never reported as loaded and never
handed to `on_loaded`. Requests waiting for the job are refused by `abandon` itself,
whether or not its task has started.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

from services.common.load_executor import LoadExecutor
from services.common.load_policy import LoadPolicy
from services.common.timing import MonotonicClock, Sleep
from services.common.version_events import VersionEvents

log = structlog.get_logger("recmesh.versions")

T = TypeVar("T")

#: Builds the in-memory form of a version from its manifest sha256 (runs in a thread).
VersionLoader = Callable[[str], T]


@dataclass(frozen=True)
class LoadedVersion(Generic[T]):
    version_id: str
    manifest_sha256: str
    value: T


class VersionLoadFailedError(Exception):
    """The attempt failed to read, verify or build the version; the message says why."""


class LoadAbandonedError(Exception):
    """The job was abandoned (the pointer moved on) before the attempt finished."""


class LoadJob(Generic[T]):
    """Loads one version, retrying every failure after `policy.retry_delay`, until an
    attempt succeeds (then calls `on_loaded` once) or `abandon` is called."""

    def __init__(
        self,
        *,
        component: str,
        version_id: str,
        manifest_sha256: str,
        loader: VersionLoader[T],
        executor: LoadExecutor,
        policy: LoadPolicy,
        events: VersionEvents,
        clock: MonotonicClock,
        sleep: Sleep,
        rng: random.Random,
        on_loaded: Callable[[LoadJob[T], LoadedVersion[T]], None],
        on_failed: Callable[[LoadJob[T]], None],
    ) -> None:
        self.component = component
        self.version_id = version_id
        self.manifest_sha256 = manifest_sha256
        self._loader = loader
        self._executor = executor
        self._policy = policy
        self._events = events
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._on_loaded = on_loaded
        self._on_failed = on_failed
        self.attempts = 0
        #: Why the latest attempt failed; None until one fails.
        self.last_failure: str | None = None
        #: When the next attempt starts (clock time), while waiting to retry.
        self.retry_at: float | None = None
        self._failed_at: float | None = None
        self._early = asyncio.Event()
        self._running = False
        self._abandoned = False
        self._waiters: list[asyncio.Future[LoadedVersion[T]]] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """An attempt is in progress (not waiting to retry)."""
        return self._running

    def start(self) -> None:
        self._task = asyncio.create_task(
            self._run(), name=f"{self.component}-load-{self.version_id}"
        )

    def abandon(self) -> None:
        """Stops retrying and drops the result of an attempt in progress; waiters get
        LoadAbandonedError at once, even when the task has not started yet (a task
        cancelled before its first step never runs its handlers)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._stopped()

    def retry_early(self) -> None:
        """Starts the next attempt now if waiting to retry and at least first_retry_s
        has passed since the last failure; otherwise does nothing."""
        if self._running or self._failed_at is None:
            return
        if self._clock() - self._failed_at >= self._policy.first_retry_s:
            self._early.set()

    async def wait_for_attempt(self) -> LoadedVersion[T]:
        """The outcome of the attempt in progress: the loaded version, or
        VersionLoadFailedError / LoadAbandonedError."""
        if self._abandoned:
            raise LoadAbandonedError(f"the load of {self.version_id} was abandoned")
        waiter: asyncio.Future[LoadedVersion[T]] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return await waiter

    async def _run(self) -> None:
        try:
            while True:
                loaded = await self._attempt()
                if loaded is not None:
                    self._on_loaded(self, loaded)
                    return
                assert self.retry_at is not None
                await self._wait_to_retry(max(0.0, self.retry_at - self._clock()))
        except asyncio.CancelledError:
            self._stopped()
            raise

    def _stopped(self) -> None:
        if self._abandoned:
            return
        self._abandoned = True
        if self._running:
            self._running = False
            self._events.load_discarded(self.version_id)
        log.info(
            "serving_version_load_abandoned",
            component=self.component,
            version=self.version_id,
            attempts=self.attempts,
        )
        self._wake(LoadAbandonedError(f"the load of {self.version_id} was abandoned"))

    async def _wait_to_retry(self, seconds: float) -> None:
        self._early = asyncio.Event()
        waiters: set[asyncio.Future[object]] = {
            asyncio.ensure_future(self._sleep(seconds)),
            asyncio.ensure_future(self._early.wait()),
        }
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _attempt(self) -> LoadedVersion[T] | None:
        self.attempts += 1
        self.retry_at = None
        self._running = True
        self._events.load_started(self.version_id, self.attempts)
        log.info(
            "serving_version_loading",
            component=self.component,
            version=self.version_id,
            attempt=self.attempts,
        )
        try:
            value = await self._executor.run(self._loader, self.manifest_sha256)
        except Exception as exc:
            # Any failure to read, verify or build a version fails this attempt: the
            # process keeps serving what it has and retries after a backoff.
            reason = f"{type(exc).__name__}: {exc}"
            delay = self._policy.retry_delay(self.attempts, self._rng)
            self._running = False
            self.last_failure = reason
            self._failed_at = self._clock()
            self.retry_at = self._failed_at + delay
            log.error(
                "serving_version_refused",
                component=self.component,
                version=self.version_id,
                attempt=self.attempts,
                reason=reason,
                retry_in_s=round(delay, 3),
            )
            self._events.load_failed(self.version_id, self.attempts, reason)
            self._wake(VersionLoadFailedError(reason))
            self._on_failed(self)
            return None
        self._running = False
        loaded = LoadedVersion(self.version_id, self.manifest_sha256, value)
        self._events.load_succeeded(self.version_id)
        self._wake(loaded)
        return loaded

    def _wake(self, outcome: LoadedVersion[T] | Exception) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if waiter.done():  # the request gave up (deadline, cancellation)
                continue
            if isinstance(outcome, Exception):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)
