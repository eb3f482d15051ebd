"""The serving versions a process holds, and how it follows the pointer to a new one.

Each service holds the current version and the one before it, so a request that the
front resolved just before a switch still finds its version here. The pointer's
newest revision is the target: handing a pointer to the registry returns at once,
and the registry

- makes a held version current by swapping (a rollback to the previous version
  costs no load);
- otherwise loads the target in a thread of its own `LoadExecutor` (`LoadJob`),
  retrying failures with capped exponential backoff until it loads or the pointer
  moves on;
- abandons the load of a version the pointer no longer names: its result, whenever
  the thread returns, is dropped and never becomes current.

A request for a version this process does not hold waits for the first attempt of
its load when that attempt is in progress, and is refused at once (with the reason)
when an attempt has already failed, which may also cut the backoff short
(`LoadJob.retry_early`); a request for a version nobody points at is refused.
`get()` records when each held version was last asked for, so readiness knows what
the front still asks for; `view()` and `wait_changed()` let readiness and the lag log
follow it (asks do not wake `wait_changed`: readiness re-checks when a window ends).

A pointer record may name a challenger beside the champion (`ServingPointer.rollout`,
in shadow or a staged rollout). The registry then loads it in a second registry of
its own (`challenger`), in its own load thread, and `get` hands it to requests that
name it; `challenger_version()` is what the front answers or shadows with. When the
record stops naming it (a rollback, a stopped shadow), that registry lets it go but
the registry keeps it as the released challenger, like the champion's previous
version: `get` still hands it to the requests that name it (an answer in flight at
a rollback completes) until none has asked for it for `lag_window_s`; the front
never chooses it again. When the record makes it the champion (a completed
rollout), the champion registry adopts the loaded challenger instead of loading it
again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import grpc
import structlog
from etcd3aio import EtcdError

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rpc.errors import FailedPreconditionError, UnavailableError
from services.common.load_executor import DEFAULT_LOAD_WORKERS, LoadExecutor
from services.common.load_policy import LoadPolicy
from services.common.timing import MonotonicClock, Sleep
from services.common.version_events import NoVersionEvents, VersionEvents
from services.common.version_load import (
    LoadAbandonedError,
    LoadedVersion,
    LoadJob,
    VersionLoader,
    VersionLoadFailedError,
)

__all__ = [
    "LoadedVersion",
    "PointerReader",
    "PointerSeen",
    "VersionLoader",
    "VersionRegistry",
    "VersionView",
]

log = structlog.get_logger("recmesh.versions")

T = TypeVar("T")

#: Reads the pointer as etcd has it now (None when unset).
PointerReader = Callable[[], Awaitable[records_pb2.ServingPointer | None]]


@dataclass(frozen=True)
class PointerSeen:
    """The newest pointer this process has seen; `since` is when (clock time) it first
    saw the pointer name this version."""

    version_id: str
    manifest_sha256: str
    revision: int
    since: float


@dataclass(frozen=True)
class VersionView:
    """The registry at one instant, for readiness and the lag log."""

    current: str | None
    held: frozenset[str]
    pointer: PointerSeen | None
    #: Versions the pointer named before its current one -> when it stopped naming
    #: them (clock time); only those within the lag window.
    named_until: Mapping[str, float]
    #: The version being loaded (or waiting to retry), its attempts and last failure.
    loading: str | None
    attempts: int
    last_failure: str | None
    #: Held versions -> when a request last asked for them (clock time), within the
    #: lag window: what the front still asks for.
    asked_at: Mapping[str, float] = field(default_factory=dict)


class VersionRegistry(Generic[T]):
    """Current and previous loaded versions of one service, following the pointer."""

    def __init__(
        self,
        component: str,
        loader: VersionLoader[T],
        read_pointer: PointerReader,
        *,
        policy: LoadPolicy | None = None,
        events: VersionEvents | None = None,
        clock: MonotonicClock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        load_workers: int = DEFAULT_LOAD_WORKERS,
        follows_rollout: bool = True,
    ) -> None:
        self._component = component
        self._executor = LoadExecutor(component, load_workers)
        self._loader = loader
        self._read_pointer = read_pointer
        self._policy = policy or LoadPolicy()
        self._events: VersionEvents = events or NoVersionEvents()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._current: LoadedVersion[T] | None = None
        self._previous: LoadedVersion[T] | None = None
        self._pointer: PointerSeen | None = None
        self._named_until: dict[str, float] = {}
        self._asked_at: dict[str, float] = {}
        self._job: LoadJob[T] | None = None
        self._changed = asyncio.Event()
        self._rollout: records_pb2.Rollout | None = None
        self._challenger: VersionRegistry[T] | None = None
        # The challenger a record stopped naming, and when a request last asked for it.
        self._released: tuple[LoadedVersion[T], float] | None = None
        if follows_rollout:
            self._challenger = VersionRegistry(
                f"{component}-challenger",
                loader,
                self._read_challenger_pointer,
                policy=policy,
                clock=clock,
                sleep=sleep,
                rng=rng,
                load_workers=1,
                follows_rollout=False,
            )

    @property
    def current(self) -> LoadedVersion[T] | None:
        return self._current

    @property
    def policy(self) -> LoadPolicy:
        return self._policy

    @property
    def rollout(self) -> records_pb2.Rollout | None:
        """The rollout the newest pointer record names (None: the champion alone)."""
        return self._rollout

    def challenger_version(self) -> LoadedVersion[T] | None:
        """The rollout's challenger once loaded here; None without a rollout or while it
        loads (the champion then answers, and shadow work is skipped)."""
        rollout, side = self._rollout, self._challenger
        if rollout is None or side is None:
            return None
        loaded = side.current
        if loaded is None or loaded.version_id != rollout.challenger_version:
            return None
        return side._asked(loaded)

    def release(self) -> None:
        """Drops every held version and any load (a challenger no record names)."""
        self._abandon_job()
        if self._current is None and self._previous is None and self._pointer is None:
            return
        if self._current is not None:
            log.info(
                "serving_version_released",
                component=self._component,
                version=self._current.version_id,
            )
        self._current = self._previous = None
        self._pointer = None
        self._asked_at = {}
        self._notify()

    def current_or_raise(self) -> LoadedVersion[T]:
        if self._current is None:
            raise UnavailableError(f"{self._component}: no serving version loaded yet")
        return self._current

    async def on_pointer(self, pointer: records_pb2.ServingPointer) -> None:
        """Pointer callback: takes the pointer as the target and returns without waiting
        for any load, so the watch never blocks behind one."""
        self.point_to(pointer)

    def point_to(self, pointer: records_pb2.ServingPointer) -> None:
        """Makes the pointer the target unless a newer revision already is (an older
        one, after an etcd restore from a backup, is logged and counted)."""
        seen = self._pointer
        if seen is not None and pointer.revision < seen.revision:
            self._events.pointer_revision_regressed(
                pointer.serving_version, pointer.revision, seen.revision
            )
            log.warning(
                "pointer_revision_regressed",
                component=self._component,
                stage="registry",
                version=pointer.serving_version,
                revision=pointer.revision,
                seen_revision=seen.revision,
            )
            return
        if seen is not None and pointer.revision == seen.revision:
            return
        now = self._clock()
        since = now
        if seen is not None and seen.version_id == pointer.serving_version:
            since = seen.since
        elif seen is not None:
            self._named_until[seen.version_id] = now
        self._named_until.pop(pointer.serving_version, None)
        horizon = now - self._policy.lag_window_s
        self._named_until = {v: t for v, t in self._named_until.items() if t > horizon}
        self._pointer = PointerSeen(
            pointer.serving_version, pointer.manifest_sha256, pointer.revision, since
        )
        self._events.pointer_named(pointer.serving_version)
        self._expire_released()
        self._follow_rollout(pointer)
        self._pursue(self._pointer)
        self._notify()

    def _follow_rollout(self, pointer: records_pb2.ServingPointer) -> None:
        side = self._challenger
        if side is None:
            return
        if pointer.HasField("rollout") and pointer.rollout.challenger_version:
            rollout = records_pb2.Rollout()
            rollout.CopyFrom(pointer.rollout)
            self._rollout = rollout
            side.point_to(_challenger_pointer(pointer))
            return
        self._rollout = None
        adopted = side.current
        current = self._current
        if (
            adopted is not None
            and adopted.version_id == pointer.serving_version
            and (current is None or current.version_id != pointer.serving_version)
        ):
            self._abandon_job()
            self._switch(adopted, how="adopted from the rollout")
        elif adopted is not None:
            self._released = (adopted, self._clock())
        side.release()

    async def _read_challenger_pointer(self) -> records_pb2.ServingPointer | None:
        pointer = await self._read_pointer()
        if pointer is None or not pointer.HasField("rollout"):
            return None
        if not pointer.rollout.challenger_version:
            return None
        return _challenger_pointer(pointer)

    async def get(self, version_id: str) -> LoadedVersion[T]:
        """The held version with this id; loads it first if the pointer names it.

        Raises FailedPreconditionError when this process does not hold it and cannot
        have it soon: nobody points at it, its last load attempt failed (with the
        reason), or the pointer moved on while it loaded; UnavailableError when etcd
        cannot say what the pointer names."""
        held = self._held(version_id)
        if held is not None:
            return self._asked(held)
        rollout, side = self._rollout, self._challenger
        if side is not None and rollout is not None and rollout.challenger_version == version_id:
            return await side.get(version_id)
        released = self._released_version(version_id)
        if released is not None:
            return released
        job = self._job
        if job is None or job.version_id != version_id:
            try:
                pointer = await self._read_pointer()
            except (EtcdError, grpc.aio.AioRpcError, OSError, TimeoutError) as exc:
                # Not this request's fault nor this replica's: UNAVAILABLE, which a
                # caller may retry elsewhere, instead of an unclassified UNKNOWN.
                raise UnavailableError(
                    f"{self._component}: cannot read the serving pointer from etcd: "
                    f"{_etcd_failure(exc)}"
                ) from exc
            if pointer is not None and pointer.serving_version == version_id:
                self.point_to(pointer)
            held = self._held(version_id)
            if held is not None:
                return self._asked(held)
            job = self._job
            if job is None or job.version_id != version_id:
                raise FailedPreconditionError(
                    f"{self._component}: serving version {version_id} is not loaded here "
                    f"and is not the pointer's ({self._describe()})"
                )
        if job.last_failure is not None:
            job.retry_early()
            raise FailedPreconditionError(
                f"{self._component}: serving version {version_id} is not loaded here: "
                f"its last load failed ({job.attempts} attempt(s) so far, retrying): "
                f"{job.last_failure}"
            )
        try:
            return self._asked(await job.wait_for_attempt())
        except VersionLoadFailedError as exc:
            raise FailedPreconditionError(
                f"{self._component}: serving version {version_id} was refused: {exc}"
            ) from exc
        except LoadAbandonedError as exc:
            raise FailedPreconditionError(
                f"{self._component}: serving version {version_id} is no longer the "
                f"pointer's ({self._describe()})"
            ) from exc

    def view(self) -> VersionView:
        horizon = self._clock() - self._policy.lag_window_s
        job = self._job
        held = frozenset(v.version_id for v in (self._current, self._previous) if v)
        return VersionView(
            current=self._current.version_id if self._current else None,
            held=held,
            pointer=self._pointer,
            named_until={v: t for v, t in self._named_until.items() if t > horizon},
            loading=job.version_id if job else None,
            attempts=job.attempts if job else 0,
            last_failure=job.last_failure if job else None,
            asked_at={v: t for v, t in self._asked_at.items() if v in held and t > horizon},
        )

    async def wait_changed(self, within_s: float | None) -> None:
        """Returns when the pointer, the held versions or a load's outcome change, or
        after within_s seconds of the injected sleep (None: no limit), whichever
        comes first."""
        waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(self._changed.wait())}
        if within_s is not None:
            waiters.add(asyncio.ensure_future(self._sleep(within_s)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def close(self) -> None:
        """Abandons a load in progress and releases the load threads (at shutdown)."""
        self._abandon_job()
        self._executor.shutdown()
        if self._challenger is not None:
            await self._challenger.close()

    def _released_version(self, version_id: str) -> LoadedVersion[T] | None:
        """The released challenger when it is `version_id` and a request asked for it
        within the lag window (this ask counts); once past, it is let go for good."""
        self._expire_released()
        released = self._released
        if released is None or released[0].version_id != version_id:
            return None
        self._released = (released[0], self._clock())
        return released[0]

    def _expire_released(self) -> None:
        released = self._released
        if released is not None and self._clock() - released[1] > self._policy.lag_window_s:
            log.info(
                "released_challenger_dropped",
                component=self._component,
                version=released[0].version_id,
            )
            self._released = None

    def _asked(self, loaded: LoadedVersion[T]) -> LoadedVersion[T]:
        self._asked_at[loaded.version_id] = self._clock()
        return loaded

    def _held(self, version_id: str) -> LoadedVersion[T] | None:
        for loaded in (self._current, self._previous):
            if loaded is not None and loaded.version_id == version_id:
                return loaded
        return None

    def _pursue(self, target: PointerSeen) -> None:
        current, previous = self._current, self._previous
        if current is not None and current.version_id == target.version_id:
            self._abandon_job()
            return
        if previous is not None and previous.version_id == target.version_id:
            self._abandon_job()
            self._switch(previous, how="swapped")
            return
        if self._job is not None and self._job.version_id == target.version_id:
            return
        self._abandon_job()
        job: LoadJob[T] = LoadJob(
            component=self._component,
            version_id=target.version_id,
            manifest_sha256=target.manifest_sha256,
            loader=self._loader,
            executor=self._executor,
            policy=self._policy,
            events=self._events,
            clock=self._clock,
            sleep=self._sleep,
            rng=self._rng,
            on_loaded=self._install,
            on_failed=lambda _: self._notify(),
        )
        self._job = job
        job.start()

    def _abandon_job(self) -> None:
        if self._job is not None:
            self._job.abandon()
            self._job = None

    def _install(self, job: LoadJob[T], loaded: LoadedVersion[T]) -> None:
        if job is not self._job:
            # An abandoned job never reaches here (its task is cancelled before it can
            # resume); this guards the invariant that only the target becomes current.
            log.warning(
                "serving_version_load_discarded",
                component=self._component,
                version=loaded.version_id,
            )
            return
        self._job = None
        self._switch(loaded, how="loaded")

    def _switch(self, new: LoadedVersion[T], how: str) -> None:
        old = self._current
        self._previous, self._current = old, new
        held = {v.version_id for v in (old, new) if v}
        self._asked_at = {v: t for v, t in self._asked_at.items() if v in held}
        log.info(
            "serving_version_switched",
            component=self._component,
            old_version=old.version_id if old else None,
            new_version=new.version_id,
            how=how,
        )
        self._events.switched(new.version_id)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _describe(self) -> str:
        current = self._current.version_id if self._current else "none"
        pointer = self._pointer.version_id if self._pointer else "none"
        return f"current {current}, pointer {pointer}"


def _challenger_pointer(pointer: records_pb2.ServingPointer) -> records_pb2.ServingPointer:
    """The record's challenger as a pointer of its own, at the record's revision."""
    return records_pb2.ServingPointer(
        serving_version=pointer.rollout.challenger_version,
        manifest_sha256=pointer.rollout.challenger_manifest_sha256,
        revision=pointer.revision,
    )


def _etcd_failure(exc: Exception) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    return f"{type(exc).__name__}: {exc}"
