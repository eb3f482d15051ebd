"""The serving versions a process has loaded, and atomic switches between them.

Each service keeps the current version and the one before it, so a request
that the front resolved just before a switch still finds its version here.
Loading (read, verify checksums, build in-memory structures) runs in a worker
thread; a version that fails to load is refused and the current one keeps
serving. A request for a version this process has not loaded yet waits for
its load when it is in flight, or starts it when the pointer names it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

from recmesh.controlplane.v1 import records_pb2
from recmesh.rpc.errors import FailedPreconditionError, UnavailableError

log = structlog.get_logger("recmesh.versions")

T = TypeVar("T")

#: Builds the in-memory form of a version from its manifest sha256 (runs in a thread).
VersionLoader = Callable[[str], T]
#: Reads the pointer as etcd has it now (None when unset).
PointerReader = Callable[[], Awaitable[records_pb2.ServingPointer | None]]


class VersionRefusedError(Exception):
    """A version failed to load or verify; the message says why."""


@dataclass(frozen=True)
class LoadedVersion(Generic[T]):
    version_id: str
    manifest_sha256: str
    value: T


class VersionRegistry(Generic[T]):
    """Current and previous loaded versions of one service."""

    def __init__(
        self,
        component: str,
        loader: VersionLoader[T],
        read_pointer: PointerReader,
        on_refused: Callable[[str, str], None] = lambda version, reason: None,
        on_loaded: Callable[[str], None] = lambda version: None,
    ) -> None:
        self._component = component
        self._loader = loader
        self._read_pointer = read_pointer
        self._on_refused = on_refused
        self._on_loaded = on_loaded
        self._current: LoadedVersion[T] | None = None
        self._previous: LoadedVersion[T] | None = None
        self._loading: dict[str, asyncio.Task[LoadedVersion[T]]] = {}
        self._refused: dict[str, str] = {}

    @property
    def current(self) -> LoadedVersion[T] | None:
        return self._current

    def current_or_raise(self) -> LoadedVersion[T]:
        if self._current is None:
            raise UnavailableError(f"{self._component}: no serving version loaded yet")
        return self._current

    async def on_pointer(self, pointer: records_pb2.ServingPointer) -> None:
        """Loads the version the pointer names and makes it current (pointer callback)."""
        try:
            await self._load(pointer.serving_version, pointer.manifest_sha256)
        except VersionRefusedError:
            return  # already logged and counted; the old version keeps serving

    async def get(self, version_id: str) -> LoadedVersion[T]:
        """The loaded version with this id, loading it first if the pointer names it."""
        for loaded in (self._current, self._previous):
            if loaded is not None and loaded.version_id == version_id:
                return loaded
        task = self._loading.get(version_id)
        if task is not None:
            return await self._await_load(asyncio.shield(task), version_id)
        if version_id in self._refused:
            raise FailedPreconditionError(
                f"{self._component}: serving version {version_id} was refused: "
                f"{self._refused[version_id]}"
            )
        pointer = await self._read_pointer()
        if pointer is None or pointer.serving_version != version_id:
            current = self._current.version_id if self._current else "none"
            raise FailedPreconditionError(
                f"{self._component}: serving version {version_id} is not loaded here "
                f"and is not the pointer's (current {current})"
            )
        return await self._await_load(
            self._load(pointer.serving_version, pointer.manifest_sha256), version_id
        )

    async def _await_load(
        self, pending: Awaitable[LoadedVersion[T]], version_id: str
    ) -> LoadedVersion[T]:
        try:
            return await pending
        except VersionRefusedError as exc:
            raise FailedPreconditionError(
                f"{self._component}: serving version {version_id} was refused: {exc}"
            ) from exc

    async def _load(self, version_id: str, manifest_sha256: str) -> LoadedVersion[T]:
        if self._current is not None and self._current.version_id == version_id:
            return self._current
        task = self._loading.get(version_id)
        if task is None:
            task = asyncio.create_task(self._load_in_thread(version_id, manifest_sha256))
            self._loading[version_id] = task
            task.add_done_callback(lambda _: self._loading.pop(version_id, None))
        return await asyncio.shield(task)

    async def _load_in_thread(self, version_id: str, manifest_sha256: str) -> LoadedVersion[T]:
        log.info("serving_version_loading", component=self._component, version=version_id)
        try:
            value = await asyncio.to_thread(self._loader, manifest_sha256)
        except Exception as exc:
            # Any failure to read, verify or build a version refuses it; the process
            # keeps serving what it has. The reason is logged and counted.
            reason = f"{type(exc).__name__}: {exc}"
            self._refused[version_id] = reason
            log.error(
                "serving_version_refused",
                component=self._component,
                version=version_id,
                reason=reason,
                still_serving=self._current.version_id if self._current else None,
            )
            self._on_refused(version_id, reason)
            raise VersionRefusedError(reason) from exc
        loaded = LoadedVersion(version_id, manifest_sha256, value)
        old = self._current
        if old is None or old.version_id != version_id:
            self._previous, self._current = old, loaded
        log.info(
            "serving_version_switched",
            component=self._component,
            old_version=old.version_id if old else None,
            new_version=version_id,
        )
        self._on_loaded(version_id)
        return loaded
