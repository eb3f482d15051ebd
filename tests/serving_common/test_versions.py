"""The version registry switches atomically, keeps the previous version and refuses bad ones."""

from __future__ import annotations

import asyncio
import threading

import pytest

from recmesh.controlplane.v1 import records_pb2
from recmesh.rpc.errors import FailedPreconditionError, UnavailableError
from services.common.versions import VersionRegistry


def _pointer(version: str) -> records_pb2.ServingPointer:
    return records_pb2.ServingPointer(serving_version=version, manifest_sha256=version + "-sha")


class _Loader:
    """Loads "<sha>" into "loaded:<sha>"; refuses shas listed in `bad`; may block on a gate."""

    def __init__(self, bad: tuple[str, ...] = ()) -> None:
        self.bad = bad
        self.calls: list[str] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, sha: str) -> str:
        self.calls.append(sha)
        self.gate.wait(5)
        if sha in self.bad:
            raise ValueError(f"checksum mismatch for {sha}")
        return f"loaded:{sha}"


def _registry(
    loader: _Loader, pointer: records_pb2.ServingPointer | None = None
) -> tuple[VersionRegistry[str], list[str]]:
    refused: list[str] = []

    async def read_pointer() -> records_pb2.ServingPointer | None:
        return pointer

    registry: VersionRegistry[str] = VersionRegistry(
        "test", loader, read_pointer, on_refused=lambda v, reason: refused.append(v)
    )
    return registry, refused


def test_pointer_switch_keeps_previous_version_available() -> None:
    """After a switch the new version is current and the old one still answers get()."""

    async def scenario() -> None:
        registry, _ = _registry(_Loader())
        await registry.on_pointer(_pointer("sv-a"))
        await registry.on_pointer(_pointer("sv-b"))
        assert registry.current_or_raise().version_id == "sv-b"
        assert (await registry.get("sv-a")).value == "loaded:sv-a-sha"

    asyncio.run(scenario())


def test_refused_version_leaves_the_old_one_serving() -> None:
    """A version whose load fails is refused, counted, and the current one stays."""

    async def scenario() -> None:
        registry, refused = _registry(_Loader(bad=("sv-bad-sha",)))
        await registry.on_pointer(_pointer("sv-a"))
        await registry.on_pointer(_pointer("sv-bad"))
        assert registry.current_or_raise().version_id == "sv-a"
        assert refused == ["sv-bad"]
        with pytest.raises(FailedPreconditionError, match="refused"):
            await registry.get("sv-bad")

    asyncio.run(scenario())


def test_request_for_version_being_loaded_waits_for_it() -> None:
    """get() during an in-flight load of that version returns once it is loaded."""

    async def scenario() -> None:
        loader = _Loader()
        registry, _ = _registry(loader)
        loader.gate.clear()
        switch = asyncio.create_task(registry.on_pointer(_pointer("sv-a")))
        await asyncio.sleep(0.05)
        waiter = asyncio.create_task(registry.get("sv-a"))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        loader.gate.set()
        assert (await waiter).version_id == "sv-a"
        await switch
        assert loader.calls == ["sv-a-sha"]

    asyncio.run(scenario())


def test_unknown_version_named_by_the_pointer_is_loaded_on_demand() -> None:
    """A request naming the pointer's version before the watch delivered it loads it."""

    async def scenario() -> None:
        registry, _ = _registry(_Loader(), pointer=_pointer("sv-new"))
        assert (await registry.get("sv-new")).value == "loaded:sv-new-sha"

    asyncio.run(scenario())


def test_unknown_version_not_named_by_the_pointer_fails_precondition() -> None:
    """A version nobody points at is FAILED_PRECONDITION, not loaded."""

    async def scenario() -> None:
        registry, _ = _registry(_Loader(), pointer=_pointer("sv-other"))
        with pytest.raises(FailedPreconditionError, match="not loaded"):
            await registry.get("sv-x")

    asyncio.run(scenario())


def test_nothing_loaded_yet_is_unavailable() -> None:
    """Before the first version loads, current_or_raise is UNAVAILABLE."""
    registry, _ = _registry(_Loader())
    with pytest.raises(UnavailableError):
        registry.current_or_raise()
