"""The version registry follows the newest pointer, retries failed loads with backoff,
abandons superseded loads, swaps back to the previous version without a reload, and
answers requests for versions it does not hold quickly and with the reason."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import pytest

from recmesh.controlplane.v1 import records_pb2
from recmesh.rpc.errors import FailedPreconditionError, UnavailableError
from services.common.load_policy import LoadPolicy
from services.common.versions import VersionRegistry
from tests.manual_time import ManualTime, wait_until

POLICY = LoadPolicy(
    first_retry_s=1.0, max_retry_s=4.0, multiplier=2.0, jitter=0.0, lag_window_s=30.0
)


def _pointer(version: str, revision: int) -> records_pb2.ServingPointer:
    return records_pb2.ServingPointer(
        serving_version=version, manifest_sha256=version + "-sha", revision=revision
    )


class _Loader:
    """Loads "<sha>" into "loaded:<sha>". The first `failures[sha]` attempts of a sha fail
    (an artifact not visible yet); `gates[sha]` holds its attempts until set."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.returned: list[str] = []
        self.failures: dict[str, int] = {}
        self.gates: dict[str, threading.Event] = {}

    def gate(self, sha: str) -> threading.Event:
        self.gates[sha] = threading.Event()
        return self.gates[sha]

    def release_all(self) -> None:
        for gate in self.gates.values():
            gate.set()

    def __call__(self, sha: str) -> str:
        self.calls.append(sha)
        gate = self.gates.get(sha)
        if gate is not None:
            gate.wait(5)
        if self.failures.get(sha, 0) > 0:
            self.failures[sha] -= 1
            raise FileNotFoundError(f"artifact {sha} is not in the store")
        self.returned.append(sha)
        return f"loaded:{sha}"


class _Events:
    """Records what the registry reports, as (event, version) pairs."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def pointer_named(self, version_id: str) -> None:
        self.seen.append(("pointer", version_id))

    def load_started(self, version_id: str, attempt: int) -> None:
        self.seen.append((f"started#{attempt}", version_id))

    def load_succeeded(self, version_id: str) -> None:
        self.seen.append(("succeeded", version_id))

    def load_failed(self, version_id: str, attempt: int, reason: str) -> None:
        self.seen.append((f"failed#{attempt}", version_id))

    def load_discarded(self, version_id: str) -> None:
        self.seen.append(("discarded", version_id))

    def switched(self, version_id: str) -> None:
        self.seen.append(("switched", version_id))

    def of(self, version: str) -> list[str]:
        return [event for event, v in self.seen if v == version]


class _Setup:
    def __init__(self, pointer: records_pb2.ServingPointer | None = None) -> None:
        self.loader = _Loader()
        self.time = ManualTime()
        self.events = _Events()

        async def read_pointer() -> records_pb2.ServingPointer | None:
            return pointer

        self.registry: VersionRegistry[str] = VersionRegistry(
            "test",
            self.loader,
            read_pointer,
            policy=POLICY,
            events=self.events,
            clock=self.time.now,
            sleep=self.time.sleep,
        )

    def current(self) -> str | None:
        current = self.registry.current
        return current.version_id if current else None

    async def serving(self, version: str) -> None:
        await wait_until(lambda: self.current() == version)

    async def failed(self, version: str, attempts: int) -> None:
        await wait_until(lambda: f"failed#{attempts}" in self.events.of(version))


def _run(scenario: Callable[[_Setup], Awaitable[None]], setup: _Setup | None = None) -> None:
    chosen = setup or _Setup()

    async def main() -> None:
        try:
            await scenario(chosen)
        finally:
            chosen.loader.release_all()
            await chosen.registry.close()

    asyncio.run(main())


def test_pointer_callback_returns_before_the_load_finishes() -> None:
    """on_pointer hands the pointer over and returns at once; the load runs behind it."""

    async def scenario(s: _Setup) -> None:
        gate = s.loader.gate("sv-a-sha")
        await asyncio.wait_for(s.registry.on_pointer(_pointer("sv-a", 1)), 0.5)
        assert s.current() is None
        gate.set()
        await s.serving("sv-a")

    _run(scenario)


def test_pointer_switch_keeps_previous_version_available() -> None:
    """After a switch the new version is current and the old one still answers get()."""

    async def scenario(s: _Setup) -> None:
        await s.registry.on_pointer(_pointer("sv-a", 1))
        await s.serving("sv-a")
        await s.registry.on_pointer(_pointer("sv-b", 2))
        await s.serving("sv-b")
        assert (await s.registry.get("sv-a")).value == "loaded:sv-a-sha"

    _run(scenario)


def test_failed_load_is_retried_with_exponential_backoff_until_it_loads() -> None:
    """An artifact missing for two attempts: the old version keeps serving, attempts
    are retried after 1 s then 2 s (the injected clock), and the third one serves it,
    with no new pointer."""

    async def scenario(s: _Setup) -> None:
        await s.registry.on_pointer(_pointer("sv-a", 1))
        await s.serving("sv-a")
        s.loader.failures["sv-b-sha"] = 2
        await s.registry.on_pointer(_pointer("sv-b", 2))
        await s.failed("sv-b", 1)
        assert s.time.slept == [1.0]
        assert s.current() == "sv-a"
        s.time.advance(0.9)
        await asyncio.sleep(0.05)
        assert s.loader.calls.count("sv-b-sha") == 1
        s.time.advance(0.1)
        await s.failed("sv-b", 2)
        assert s.time.slept == [1.0, 2.0]
        s.time.advance(2.0)
        await s.serving("sv-b")
        assert s.events.of("sv-b") == [
            "pointer", "started#1", "failed#1", "started#2", "failed#2", "started#3",
            "succeeded", "switched",
        ]

    _run(scenario)


def test_backoff_stops_at_the_cap() -> None:
    """Delays double up to max_retry_s and stay there."""

    async def scenario(s: _Setup) -> None:
        s.loader.failures["sv-a-sha"] = 5
        await s.registry.on_pointer(_pointer("sv-a", 1))
        for attempt in range(1, 6):
            await s.failed("sv-a", attempt)
            s.time.advance(s.time.slept[-1])
        await s.serving("sv-a")
        assert s.time.slept == [1.0, 2.0, 4.0, 4.0, 4.0]

    _run(scenario)


def test_request_for_a_version_whose_last_load_failed_is_refused_at_once() -> None:
    """While a failed load waits to retry, get() of that version is FAILED_PRECONDITION
    with the reason, without waiting for the retry."""

    async def scenario(s: _Setup) -> None:
        s.loader.failures["sv-a-sha"] = 1
        await s.registry.on_pointer(_pointer("sv-a", 1))
        await s.failed("sv-a", 1)
        with pytest.raises(FailedPreconditionError, match=r"last load failed.*not in the store"):
            await asyncio.wait_for(s.registry.get("sv-a"), 0.5)
        with pytest.raises(UnavailableError):
            s.registry.current_or_raise()

    _run(scenario)


def test_request_for_a_failing_version_cuts_a_long_backoff_short() -> None:
    """Waiting 4 s after a third failure, a request for the version (refused) starts the
    next attempt as soon as first_retry_s has passed since the failure, not before."""

    async def scenario(s: _Setup) -> None:
        s.loader.failures["sv-a-sha"] = 3
        await s.registry.on_pointer(_pointer("sv-a", 1))
        for attempt in (1, 2):
            await s.failed("sv-a", attempt)
            s.time.advance(s.time.slept[-1])
        await s.failed("sv-a", 3)
        assert s.time.slept[-1] == 4.0
        with pytest.raises(FailedPreconditionError):
            await s.registry.get("sv-a")
        await asyncio.sleep(0.05)
        assert s.loader.calls.count("sv-a-sha") == 3
        s.time.advance(POLICY.first_retry_s)
        with pytest.raises(FailedPreconditionError):
            await s.registry.get("sv-a")
        await s.serving("sv-a")
        assert s.loader.calls.count("sv-a-sha") == 4

    _run(scenario)


def test_request_waiting_for_a_first_attempt_that_fails_gets_the_reason() -> None:
    """get() that waits for an attempt in progress is refused with that attempt's reason."""

    async def scenario(s: _Setup) -> None:
        gate = s.loader.gate("sv-a-sha")
        s.loader.failures["sv-a-sha"] = 1
        await s.registry.on_pointer(_pointer("sv-a", 1))
        waiter = asyncio.create_task(s.registry.get("sv-a"))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        gate.set()
        with pytest.raises(FailedPreconditionError, match=r"refused.*not in the store"):
            await waiter

    _run(scenario)


def test_newer_pointer_wins_over_an_older_load_that_finishes_late() -> None:
    """A slow load of sv-b is overtaken by the pointer moving to sv-c: sv-c serves, and
    when sv-b's load returns later its result is dropped (never current, not kept)."""

    async def scenario(s: _Setup) -> None:
        await s.registry.on_pointer(_pointer("sv-a", 1))
        await s.serving("sv-a")
        slow = s.loader.gate("sv-b-sha")
        await s.registry.on_pointer(_pointer("sv-b", 2))
        await wait_until(lambda: "sv-b-sha" in s.loader.calls)
        await s.registry.on_pointer(_pointer("sv-c", 3))
        await s.serving("sv-c")
        slow.set()
        await wait_until(lambda: "sv-b-sha" in s.loader.returned)
        await asyncio.sleep(0.05)
        assert s.current() == "sv-c"
        assert s.registry.view().held == {"sv-a", "sv-c"}
        assert "switched" not in s.events.of("sv-b")
        assert s.events.of("sv-b")[-1] == "discarded"

    _run(scenario)


def test_rollback_during_a_slow_load_is_instant_and_cancels_it() -> None:
    """The pointer moves to sv-b (loading slowly) and back to sv-a: sv-a is current at
    once, sv-a is not reloaded, and sv-b's late result never becomes current."""

    async def scenario(s: _Setup) -> None:
        await s.registry.on_pointer(_pointer("sv-a", 1))
        await s.serving("sv-a")
        slow = s.loader.gate("sv-b-sha")
        await s.registry.on_pointer(_pointer("sv-b", 2))
        await wait_until(lambda: "sv-b-sha" in s.loader.calls)
        await s.registry.on_pointer(_pointer("sv-a", 3))
        view = s.registry.view()
        assert (view.current, view.loading) == ("sv-a", None)
        slow.set()
        await wait_until(lambda: "sv-b-sha" in s.loader.returned)
        await asyncio.sleep(0.05)
        assert s.current() == "sv-a"
        assert s.loader.calls == ["sv-a-sha", "sv-b-sha"]
        assert "switched" not in s.events.of("sv-b")

    _run(scenario)


def test_rollback_to_the_previous_version_swaps_without_a_reload() -> None:
    """With sv-a previous and sv-b current, a pointer back to sv-a swaps them at once."""

    async def scenario(s: _Setup) -> None:
        await s.registry.on_pointer(_pointer("sv-a", 1))
        await s.serving("sv-a")
        await s.registry.on_pointer(_pointer("sv-b", 2))
        await s.serving("sv-b")
        await s.registry.on_pointer(_pointer("sv-a", 3))
        assert s.current() == "sv-a"
        assert s.registry.view().held == {"sv-a", "sv-b"}
        assert s.loader.calls == ["sv-a-sha", "sv-b-sha"]

    _run(scenario)


def test_abandoned_failing_load_is_not_retried() -> None:
    """A version failing to load is no longer retried once the pointer names another."""

    async def scenario(s: _Setup) -> None:
        await s.registry.on_pointer(_pointer("sv-a", 1))
        await s.serving("sv-a")
        s.loader.failures["sv-b-sha"] = 100
        await s.registry.on_pointer(_pointer("sv-b", 2))
        await s.failed("sv-b", 1)
        await s.registry.on_pointer(_pointer("sv-a", 3))
        s.time.advance(60)
        await asyncio.sleep(0.05)
        assert s.loader.calls.count("sv-b-sha") == 1
        with pytest.raises(FailedPreconditionError, match="not the pointer's"):
            await s.registry.get("sv-b")

    _run(scenario)


def test_request_waiting_for_an_abandoned_load_is_refused() -> None:
    """get() waiting on a load that the pointer then leaves is FAILED_PRECONDITION."""

    async def scenario(s: _Setup) -> None:
        await s.registry.on_pointer(_pointer("sv-a", 1))
        await s.serving("sv-a")
        s.loader.gate("sv-b-sha")
        await s.registry.on_pointer(_pointer("sv-b", 2))
        waiter = asyncio.create_task(s.registry.get("sv-b"))
        await asyncio.sleep(0.05)
        await s.registry.on_pointer(_pointer("sv-a", 3))
        with pytest.raises(FailedPreconditionError, match="no longer the pointer's"):
            await waiter

    _run(scenario)


def test_older_revision_never_replaces_a_newer_one() -> None:
    """A pointer with a lower revision than one already seen is ignored."""

    async def scenario(s: _Setup) -> None:
        await s.registry.on_pointer(_pointer("sv-b", 5))
        await s.registry.on_pointer(_pointer("sv-a", 4))
        await s.serving("sv-b")
        view = s.registry.view()
        assert view.pointer is not None
        assert (view.pointer.version_id, view.pointer.revision) == ("sv-b", 5)
        assert "sv-a-sha" not in s.loader.calls

    _run(scenario)


def test_request_for_version_being_loaded_waits_for_it() -> None:
    """get() during an in-flight first load of that version returns once it is loaded."""

    async def scenario(s: _Setup) -> None:
        gate = s.loader.gate("sv-a-sha")
        await s.registry.on_pointer(_pointer("sv-a", 1))
        waiter = asyncio.create_task(s.registry.get("sv-a"))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        gate.set()
        assert (await waiter).version_id == "sv-a"
        assert s.loader.calls == ["sv-a-sha"]

    _run(scenario)


def test_unknown_version_named_by_the_pointer_is_loaded_on_demand() -> None:
    """A request naming the pointer's version before the watch delivered it loads it."""

    async def scenario(s: _Setup) -> None:
        assert (await s.registry.get("sv-new")).value == "loaded:sv-new-sha"

    _run(scenario, _Setup(pointer=_pointer("sv-new", 7)))


def test_unknown_version_not_named_by_the_pointer_fails_precondition() -> None:
    """A version nobody points at is FAILED_PRECONDITION, not loaded."""

    async def scenario(s: _Setup) -> None:
        with pytest.raises(FailedPreconditionError, match="not loaded"):
            await s.registry.get("sv-x")
        assert s.loader.calls == []

    _run(scenario, _Setup(pointer=_pointer("sv-other", 7)))


def test_nothing_loaded_yet_is_unavailable() -> None:
    """Before the first version loads, current_or_raise is UNAVAILABLE."""
    with pytest.raises(UnavailableError):
        _Setup().registry.current_or_raise()


def test_view_remembers_versions_the_pointer_named_within_the_window() -> None:
    """named_until keeps each version the pointer left, with when, for lag_window_s."""

    async def scenario(s: _Setup) -> None:
        await s.registry.on_pointer(_pointer("sv-a", 1))
        s.time.advance(5)
        await s.registry.on_pointer(_pointer("sv-b", 2))
        left_a = s.time.now()
        assert s.registry.view().named_until == {"sv-a": left_a}
        s.time.advance(POLICY.lag_window_s)
        assert s.registry.view().named_until == {}

    _run(scenario)
