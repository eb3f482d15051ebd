"""services/common/coalescer.py with fake batch senders (no network): a lone item goes
out at once, items arriving while calls are in flight go out together when a slot
frees, bounds hold, and each item keeps its own result, error, deadline and
cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from services.common.coalescer import (
    BatchSizeMismatchError,
    Coalescer,
    CoalescingPolicy,
    Entry,
)


class ItemError(Exception):
    pass


@dataclass
class GatedSender:
    """Records each batch; each call waits until the test releases it, then answers
    item * 10, or an ItemError for negative items."""

    batches: list[list[int]] = field(default_factory=list)
    timeouts: list[float] = field(default_factory=list)
    gates: list[asyncio.Event] = field(default_factory=list)
    fail_with: Exception | None = None

    async def __call__(
        self,
        entries: Sequence[Entry[int]],
        timeout: float,  # noqa: ASYNC109 - the sender's signature
    ) -> list[int | Exception]:
        self.batches.append([item for item, _ in entries])
        self.timeouts.append(timeout)
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return [ItemError(f"bad {item}") if item < 0 else item * 10 for item, _ in entries]

    def release(self, index: int) -> None:
        self.gates[index].set()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_lone_item_is_sent_at_once_alone() -> None:
    async def main() -> None:
        sender = GatedSender()
        coalescer: Coalescer[int, int] = Coalescer(sender)
        call = asyncio.create_task(coalescer.call(7, 1.0))
        await settle()
        assert sender.batches == [[7]]
        sender.release(0)
        assert await call == 70
        assert coalescer.in_flight == 0

    asyncio.run(main())


def test_items_arriving_while_slots_are_busy_go_out_as_one_batch() -> None:
    async def main() -> None:
        sender = GatedSender()
        coalescer: Coalescer[int, int] = Coalescer(sender, CoalescingPolicy(max_in_flight=2))
        first = [asyncio.create_task(coalescer.call(i, 1.0)) for i in (1, 2)]
        await settle()
        assert sender.batches == [[1], [2]]
        waiting = [asyncio.create_task(coalescer.call(i, 1.0)) for i in (3, 4, 5)]
        await settle()
        assert len(sender.batches) == 2
        assert coalescer.queued == 3
        sender.release(0)
        await settle()
        assert sender.batches[2] == [3, 4, 5]
        sender.release(1)
        sender.release(2)
        assert await asyncio.gather(*first, *waiting) == [10, 20, 30, 40, 50]

    asyncio.run(main())


def test_max_batch_bounds_each_batch() -> None:
    async def main() -> None:
        sender = GatedSender()
        coalescer: Coalescer[int, int] = Coalescer(
            sender, CoalescingPolicy(max_in_flight=1, max_batch=3)
        )
        calls = [asyncio.create_task(coalescer.call(i, 1.0)) for i in range(8)]
        await settle()
        assert sender.batches == [[0]]
        for index in range(4):
            sender.release(index)
            await settle()
        assert sender.batches == [[0], [1, 2, 3], [4, 5, 6], [7]]
        assert await asyncio.gather(*calls) == [i * 10 for i in range(8)]

    asyncio.run(main())


def test_an_item_error_fails_that_item_alone() -> None:
    async def main() -> None:
        sender = GatedSender()
        coalescer: Coalescer[int, int] = Coalescer(sender, CoalescingPolicy(max_in_flight=1))
        blocker = asyncio.create_task(coalescer.call(0, 1.0))
        await settle()
        calls = [asyncio.create_task(coalescer.call(i, 1.0)) for i in (1, -2, 3)]
        await settle()
        sender.release(0)
        await settle()
        sender.release(1)
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert sender.batches[1] == [1, -2, 3]
        assert outcomes[0] == 10
        assert outcomes[2] == 30
        assert isinstance(outcomes[1], ItemError)
        assert str(outcomes[1]) == "bad -2"
        assert await blocker == 0

    asyncio.run(main())


def test_a_failed_batch_call_fails_each_of_its_items_with_its_error() -> None:
    async def main() -> None:
        sender = GatedSender()
        coalescer: Coalescer[int, int] = Coalescer(sender, CoalescingPolicy(max_in_flight=1))
        blocker = asyncio.create_task(coalescer.call(0, 1.0))
        await settle()
        calls = [asyncio.create_task(coalescer.call(i, 1.0)) for i in (1, 2)]
        await settle()
        sender.release(0)
        assert await blocker == 0
        await settle()
        sender.fail_with = ConnectionError("down")
        sender.release(1)
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(o, ConnectionError) for o in outcomes)
        assert [str(o) for o in outcomes] == ["down", "down"]
        # The slot is free again: the next item goes out alone at once.
        sender.fail_with = None
        last = asyncio.create_task(coalescer.call(9, 1.0))
        await settle()
        assert sender.batches[-1] == [9]
        sender.release(2)
        assert await last == 90

    asyncio.run(main())


def test_a_sender_answering_the_wrong_number_of_outcomes_fails_the_batch() -> None:
    async def main() -> None:
        async def short(
            entries: Sequence[Entry[int]],
            timeout: float,  # noqa: ASYNC109 - the sender's signature
        ) -> list[int]:
            return [1]

        coalescer: Coalescer[int, int] = Coalescer(short, CoalescingPolicy(max_in_flight=1))
        blocker = coalescer.call(0, 1.0)
        outcomes = await asyncio.gather(
            blocker, coalescer.call(1, 1.0), coalescer.call(2, 1.0), return_exceptions=True
        )
        assert outcomes[0] == 1
        assert all(isinstance(o, BatchSizeMismatchError) for o in outcomes[1:])

    asyncio.run(main())


def test_an_item_whose_deadline_passes_fails_alone_and_the_batch_goes_on() -> None:
    async def main() -> None:
        class LateError(Exception):
            pass

        sender = GatedSender()
        expired: list[tuple[int, float]] = []
        coalescer: Coalescer[int, int] = Coalescer(
            sender,
            CoalescingPolicy(max_in_flight=1, max_wait_share=1.0),
            timeout_error=lambda: LateError("late"),
            on_expire=lambda item, timeout: expired.append((item, timeout)),
        )
        blocker = asyncio.create_task(coalescer.call(0, 5.0))
        await settle()
        hasty = asyncio.create_task(coalescer.call(1, 0.05))
        patient = asyncio.create_task(coalescer.call(2, 5.0))
        await settle()
        # The hasty item's deadline passes while it is queued: it fails alone.
        with pytest.raises(LateError):
            await hasty
        assert coalescer.queued == 1
        sender.release(0)
        await settle()
        assert sender.batches[1] == [2]
        # The batch call is given the longest time its items have left.
        assert 4.0 < sender.timeouts[1] <= 5.0
        # An item in flight whose deadline passes fails alone; the call goes on.
        rushed_blocker = asyncio.create_task(coalescer.call(3, 5.0))
        short_lived = asyncio.create_task(coalescer.call(4, 0.05))
        await settle()
        sender.release(1)
        assert await patient == 20
        await settle()
        assert sender.batches[2] == [3, 4]
        with pytest.raises(LateError):
            await short_lived
        assert not sender.gates[2].is_set()
        # Only the item that expired in flight is reported (the queued one never left).
        assert expired == [(4, 0.05)]
        sender.release(2)
        assert await rushed_blocker == 30
        assert await blocker == 0

    asyncio.run(main())


def test_a_cancelled_waiting_caller_takes_its_item_out_of_the_queue() -> None:
    async def main() -> None:
        sender = GatedSender()
        coalescer: Coalescer[int, int] = Coalescer(sender, CoalescingPolicy(max_in_flight=1))
        blocker = asyncio.create_task(coalescer.call(0, 1.0))
        await settle()
        gone = asyncio.create_task(coalescer.call(1, 1.0))
        kept = asyncio.create_task(coalescer.call(2, 1.0))
        await settle()
        gone.cancel()
        await settle()
        assert coalescer.queued == 1
        sender.release(0)
        await settle()
        assert sender.batches[1] == [2]
        sender.release(1)
        assert await kept == 20
        assert await blocker == 0
        assert gone.cancelled()

    asyncio.run(main())


def test_a_batch_whose_callers_are_all_cancelled_is_cancelled() -> None:
    async def main() -> None:
        sender = GatedSender()
        coalescer: Coalescer[int, int] = Coalescer(sender, CoalescingPolicy(max_in_flight=1))
        first = asyncio.create_task(coalescer.call(0, 1.0))
        await settle()
        assert coalescer.in_flight == 1
        first.cancel()
        await settle()
        assert coalescer.in_flight == 0
        # The slot is free: the next item is sent at once.
        nxt = asyncio.create_task(coalescer.call(5, 1.0))
        await settle()
        assert sender.batches == [[0], [5]]
        sender.release(1)
        assert await nxt == 50

    asyncio.run(main())


def test_a_queued_item_waits_for_a_slot_at_most_its_share_of_the_timeout() -> None:
    async def main() -> None:
        sender = GatedSender()
        coalescer: Coalescer[int, int] = Coalescer(
            sender, CoalescingPolicy(max_in_flight=1, max_wait_share=0.5)
        )
        hung = asyncio.create_task(coalescer.call(0, 10.0))
        await settle()
        assert sender.batches == [[0]]
        waiting = asyncio.create_task(coalescer.call(1, 0.1))
        await settle()
        assert coalescer.queued == 1
        await asyncio.sleep(0.08)
        # Half its time passed behind the hung call: it went out alone, past the bound.
        assert sender.batches == [[0], [1]]
        sender.release(1)
        assert await waiting == 10
        sender.release(0)
        assert await hung == 0

    asyncio.run(main())


def test_a_call_holds_its_slot_at_most_its_share_of_the_timeout() -> None:
    async def main() -> None:
        sender = GatedSender()
        coalescer: Coalescer[int, int] = Coalescer(
            sender, CoalescingPolicy(max_in_flight=1, max_wait_share=0.5)
        )
        hung = asyncio.create_task(coalescer.call(0, 0.1))
        await settle()
        await asyncio.sleep(0.06)
        # The call in flight has held its slot for half its time: the next item is
        # sent at once.
        nxt = asyncio.create_task(coalescer.call(1, 1.0))
        await settle()
        assert sender.batches == [[0], [1]]
        sender.release(1)
        assert await nxt == 10
        sender.release(0)
        assert await hung == 0

    asyncio.run(main())


def test_items_go_out_at_once_past_the_bound_while_unbounded_holds() -> None:
    async def main() -> None:
        sender = GatedSender()
        open_ = False
        coalescer: Coalescer[int, int] = Coalescer(
            sender, CoalescingPolicy(max_in_flight=1), unbounded=lambda: open_
        )
        first = asyncio.create_task(coalescer.call(0, 1.0))
        await settle()
        open_ = True
        others = [asyncio.create_task(coalescer.call(i, 1.0)) for i in (1, 2)]
        await settle()
        assert sender.batches == [[0], [1], [2]]
        for index in range(3):
            sender.release(index)
        assert await asyncio.gather(first, *others) == [0, 10, 20]

    asyncio.run(main())


def test_policy_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        CoalescingPolicy(max_in_flight=0)
    with pytest.raises(ValueError, match="max_batch"):
        CoalescingPolicy(max_batch=0)
    with pytest.raises(ValueError, match="max_wait_share"):
        CoalescingPolicy(max_wait_share=0)


def test_close_fails_the_items_queued_and_in_flight() -> None:
    async def main() -> None:
        class ClosedError(Exception):
            pass

        sender = GatedSender()
        coalescer: Coalescer[int, int] = Coalescer(
            sender, CoalescingPolicy(max_in_flight=1), closed_error=lambda: ClosedError("closed")
        )
        calls = [asyncio.create_task(coalescer.call(i, 1.0)) for i in (1, 2)]
        await settle()
        assert (coalescer.in_flight, coalescer.queued) == (1, 1)
        await coalescer.close()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(o, ClosedError) for o in outcomes)
        with pytest.raises(ClosedError):
            await coalescer.call(3, 1.0)

    asyncio.run(main())


def test_the_last_item_of_a_batch_to_expire_is_left_to_the_batch_calls_deadline() -> None:
    """Two items of one hung batch call expire: only the first is reported; the last
    one's deadline is the call's own, which the downstream judges (N late items count
    N, as N late unary calls would, not N + 1)."""

    async def main() -> None:
        class LateError(Exception):
            pass

        sender = GatedSender()
        expired: list[int] = []
        coalescer: Coalescer[int, int] = Coalescer(
            sender,
            CoalescingPolicy(max_in_flight=1, max_wait_share=1.0),
            timeout_error=lambda: LateError("late"),
            on_expire=lambda item, timeout: expired.append(item),
        )
        blocker = asyncio.create_task(coalescer.call(0, 5.0))
        await settle()
        first = asyncio.create_task(coalescer.call(1, 0.05))
        last = asyncio.create_task(coalescer.call(2, 0.1))
        await settle()
        sender.release(0)
        assert await blocker == 0
        await settle()
        assert sender.batches[1] == [1, 2]
        for late in (first, last):
            with pytest.raises(LateError):
                await late
        assert expired == [1]
        sender.release(1)
        await coalescer.close()

    asyncio.run(main())
