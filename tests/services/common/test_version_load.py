"""A version's load retries failures with capped exponential backoff, refuses requests
at once while it waits to retry (cutting a long backoff short on demand), and stops
retrying once abandoned."""

from __future__ import annotations

import asyncio

import pytest

from recmesh.rpc.errors import FailedPreconditionError, UnavailableError
from tests.services.common.registry_support import POLICY, RegistrySetup, pointer, run_scenario


def test_failed_load_is_retried_with_exponential_backoff_until_it_loads() -> None:
    """An artifact missing for two attempts: the old version keeps serving, attempts
    are retried after 1 s then 2 s (the injected clock), and the third one serves it,
    with no new pointer."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(pointer("sv-a", 1))
        await s.serving("sv-a")
        s.loader.failures["sv-b-sha"] = 2
        await s.registry.on_pointer(pointer("sv-b", 2))
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
            "pointer",
            "started#1",
            "failed#1",
            "started#2",
            "failed#2",
            "started#3",
            "succeeded",
            "switched",
        ]

    run_scenario(scenario)


def test_backoff_stops_at_the_cap() -> None:
    """Delays double up to max_retry_s and stay there."""

    async def scenario(s: RegistrySetup) -> None:
        s.loader.failures["sv-a-sha"] = 5
        await s.registry.on_pointer(pointer("sv-a", 1))
        for attempt in range(1, 6):
            await s.failed("sv-a", attempt)
            s.time.advance(s.time.slept[-1])
        await s.serving("sv-a")
        assert s.time.slept == [1.0, 2.0, 4.0, 4.0, 4.0]

    run_scenario(scenario)


def test_request_for_a_version_whose_last_load_failed_is_refused_at_once() -> None:
    """While a failed load waits to retry, get() of that version is FAILED_PRECONDITION
    with the reason, without waiting for the retry."""

    async def scenario(s: RegistrySetup) -> None:
        s.loader.failures["sv-a-sha"] = 1
        await s.registry.on_pointer(pointer("sv-a", 1))
        await s.failed("sv-a", 1)
        with pytest.raises(FailedPreconditionError, match=r"last load failed.*not in the store"):
            await asyncio.wait_for(s.registry.get("sv-a"), 0.5)
        with pytest.raises(UnavailableError):
            s.registry.current_or_raise()

    run_scenario(scenario)


def test_request_for_a_failing_version_cuts_a_long_backoff_short() -> None:
    """Waiting 4 s after a third failure, a request for the version (refused) starts the
    next attempt as soon as first_retry_s has passed since the failure, not before."""

    async def scenario(s: RegistrySetup) -> None:
        s.loader.failures["sv-a-sha"] = 3
        await s.registry.on_pointer(pointer("sv-a", 1))
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

    run_scenario(scenario)


def test_request_waiting_for_a_first_attempt_that_fails_gets_the_reason() -> None:
    """get() that waits for an attempt in progress is refused with that attempt's reason."""

    async def scenario(s: RegistrySetup) -> None:
        gate = s.loader.gate("sv-a-sha")
        s.loader.failures["sv-a-sha"] = 1
        await s.registry.on_pointer(pointer("sv-a", 1))
        waiter = asyncio.create_task(s.registry.get("sv-a"))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        gate.set()
        with pytest.raises(FailedPreconditionError, match=r"refused.*not in the store"):
            await waiter

    run_scenario(scenario)


def test_abandoned_failing_load_is_not_retried() -> None:
    """A version failing to load is no longer retried once the pointer names another."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(pointer("sv-a", 1))
        await s.serving("sv-a")
        s.loader.failures["sv-b-sha"] = 100
        await s.registry.on_pointer(pointer("sv-b", 2))
        await s.failed("sv-b", 1)
        await s.registry.on_pointer(pointer("sv-a", 3))
        s.time.advance(60)
        await asyncio.sleep(0.05)
        assert s.loader.calls.count("sv-b-sha") == 1
        with pytest.raises(FailedPreconditionError, match="not the pointer's"):
            await s.registry.get("sv-b")

    run_scenario(scenario)


def test_request_for_a_load_abandoned_before_its_first_step_is_refused() -> None:
    """get() that pointed the registry at sv-b (read from etcd) is refused, not left
    hanging, when the pointer moves to sv-c before sv-b's load task ever ran."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(pointer("sv-a", 1))
        await s.serving("sv-a")

        async def move_on() -> None:
            s.registry.point_to(pointer("sv-c", 3))

        # Both steps run before the load task that get() starts: get() reads sv-b from
        # etcd, starts its load and waits; move_on then supersedes it.
        waiter = asyncio.create_task(s.registry.get("sv-b"))
        mover = asyncio.create_task(move_on())
        with pytest.raises(FailedPreconditionError, match="no longer the pointer's"):
            await asyncio.wait_for(waiter, 1.0)
        await mover
        assert "sv-b-sha" not in s.loader.calls
        await s.serving("sv-c")

    run_scenario(scenario, RegistrySetup(in_etcd=pointer("sv-b", 2)))
