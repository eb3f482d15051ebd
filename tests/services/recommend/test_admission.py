"""Admission control of the front (services/recommend/admission.py): the count of calls
in flight, the limit, and a refused call's Overload."""

from __future__ import annotations

import asyncio

import pytest

from services.recommend.admission import Admission, Overload


def test_calls_up_to_the_limit_are_admitted_and_the_next_is_refused() -> None:
    async def scenario() -> None:
        admission = Admission(2)
        async with admission.slot() as first, admission.slot() as second:
            assert (first, second) == (None, None)
            async with admission.slot() as third:
                # Counted while refused: the two before it are named in the detail.
                assert third == Overload(in_flight=2, limit=2)
                assert admission.in_flight == 3
            assert admission.in_flight == 2
        assert admission.in_flight == 0
        async with admission.slot() as again:
            assert again is None

    asyncio.run(scenario())


def test_a_limit_of_zero_refuses_every_call() -> None:
    async def scenario() -> None:
        admission = Admission(0)
        async with admission.slot() as refused:
            assert refused == Overload(in_flight=0, limit=0)

    asyncio.run(scenario())


def test_a_call_that_fails_or_is_cancelled_leaves_the_count() -> None:
    async def scenario() -> None:
        admission = Admission(1)
        with pytest.raises(RuntimeError):
            async with admission.slot():
                raise RuntimeError("boom")
        assert admission.in_flight == 0

        entered = asyncio.Event()

        async def waits() -> None:
            async with admission.slot():
                entered.set()
                await asyncio.sleep(10)

        task = asyncio.create_task(waits())
        await entered.wait()
        assert admission.in_flight == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert admission.in_flight == 0

    asyncio.run(scenario())
