"""Adaptive coalescing of calls to one downstream: no timer, batches only under load.

`Coalescer.call(item, timeout)` answers one item. When fewer than `max_in_flight`
batch calls are in flight (and so nothing is queued) the item is sent at once, alone:
a lone request waits for nothing. Otherwise it is queued, and each time a call
completes the queued items (up to `max_batch`, oldest first) go out together as one
batch call. The batch size follows the load: 1 when quiet, larger when requests
arrive faster than the downstream answers.

Each item keeps its own deadline. An item whose timeout elapses fails alone with
`timeout_error()` (queued: it is dropped; in flight: the batch call goes on for the
others, and `on_expire(item, timeout)` is told); the batch call is given the longest
time any of its items has left. A batch call holds its slot at most `max_wait_share`
(10 %) of its timeout, and a queued item waits for a slot at most that share of its
own, then goes out alone past the bound: calls that hang cost the items behind them
a tenth of their time, never their whole deadline. While `unbounded()` holds (the
downstream fails calls without attempting them: every replica is ejected), items are
sent at once whatever is in flight, so none waits behind a hung call to learn it. A
caller cancelled while waiting takes its item out of the queue; a batch call whose
callers were all cancelled is cancelled. A batch call that raises fails each of its
items with that error; otherwise the sender answers one outcome per item, a result
or an exception, and each caller gets its own.

The sender does the I/O (services/common/coalesced_downstream.py sends a batch RPC
through a `Downstream`); this module is pure asyncio logic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeAlias, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

#: One item of a batch as the sender sees it: the item and the seconds it has left.
Entry: TypeAlias = tuple[ItemT, float]

#: Sends one batch within `timeout` seconds (the longest any item has left) and answers
#: one outcome per entry, in order: the item's result or the exception it fails with.
#: Raising fails every item of the batch with that exception.
SendBatch: TypeAlias = Callable[
    [Sequence[Entry[ItemT]], float], Awaitable[Sequence[ResultT | BaseException]]
]


@dataclass(frozen=True)
class CoalescingPolicy:
    """At most `max_in_flight` batch calls at once to the downstream, each of at most
    `max_batch` items."""

    max_in_flight: int = 2
    max_batch: int = 32
    #: A batch call holds its slot at most this share of its timeout, and a queued item
    #: waits for a slot at most this share of its own (then it goes out alone, past the
    #: bound): calls that hang (a downstream waiting on its own downstream) must not
    #: make the items behind them miss the deadline the downstream would have answered
    #: them within. A healthy call answers in a few percent of its timeout.
    max_wait_share: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.max_wait_share <= 1:
            raise ValueError(f"max_wait_share must be in (0, 1], got {self.max_wait_share}")
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {self.max_in_flight}")
        if self.max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {self.max_batch}")


class BatchSizeMismatchError(Exception):
    """The sender answered a different number of outcomes than the batch had items."""


def _timed_out() -> BaseException:
    return TimeoutError("the item's deadline passed")


@dataclass(eq=False)
class _Pending(Generic[ItemT, ResultT]):
    item: ItemT
    deadline: float
    future: asyncio.Future[ResultT]
    timeout: float
    timer: asyncio.TimerHandle | None = None
    batch: _Batch[ItemT, ResultT] | None = None


@dataclass(eq=False)
class _Batch(Generic[ItemT, ResultT]):
    items: list[_Pending[ItemT, ResultT]]
    #: When the slot it holds frees (None: it holds none, sent past the bound).
    holds_until: float | None
    task: asyncio.Task[None] | None = None
    cancelled: int = field(default=0)


class Coalescer(Generic[ItemT, ResultT]):
    """Coalesces concurrent `call`s into batches sent with `send` (see the module)."""

    def __init__(
        self,
        send: SendBatch[ItemT, ResultT],
        policy: CoalescingPolicy | None = None,
        *,
        timeout_error: Callable[[], BaseException] = _timed_out,
        on_expire: Callable[[ItemT, float], None] | None = None,
        unbounded: Callable[[], bool] = lambda: False,
        closed_error: Callable[[], BaseException] = lambda: RuntimeError("the coalescer is closed"),
    ) -> None:
        self._send = send
        self._policy = policy or CoalescingPolicy()
        self._timeout_error = timeout_error
        self._on_expire = on_expire
        self._unbounded = unbounded
        self._closed_error = closed_error
        self._queue: deque[_Pending[ItemT, ResultT]] = deque()
        self._batches: set[_Batch[ItemT, ResultT]] = set()
        self._closed = False

    @property
    def policy(self) -> CoalescingPolicy:
        return self._policy

    @property
    def in_flight(self) -> int:
        """Batch calls in flight now."""
        return len(self._batches)

    @property
    def queued(self) -> int:
        """Items waiting for a free slot."""
        return len(self._queue)

    async def call(self, item: ItemT, timeout: float) -> ResultT:  # noqa: ASYNC109
        """item's result, or the exception it failed with, within timeout seconds (then
        `timeout_error()`)."""
        if self._closed:
            raise self._closed_error()
        loop = asyncio.get_running_loop()
        if timeout <= 0:
            raise self._timeout_error()
        pending: _Pending[ItemT, ResultT] = _Pending(
            item, loop.time() + timeout, loop.create_future(), timeout
        )
        pending.timer = loop.call_at(pending.deadline, self._expire, pending)
        self._queue.append(pending)
        self._pump()
        overdue = None
        if pending.batch is None:
            # Queued: no slot is free. It waits for one, but not for ever.
            overdue = loop.call_later(timeout * self._policy.max_wait_share, self._overdue, pending)
        try:
            return await pending.future
        except asyncio.CancelledError:
            self._abandon(pending)
            raise
        finally:
            pending.timer.cancel()
            if overdue is not None:
                overdue.cancel()

    async def close(self) -> None:
        """Cancels the batch calls in flight and fails their items and the queued ones
        with `closed_error()`."""
        self._closed = True
        waiting = list(self._queue)
        self._queue.clear()
        batches = list(self._batches)
        for batch in batches:
            waiting.extend(batch.items)
            if batch.task is not None:
                batch.task.cancel()
        for pending in waiting:
            if not pending.future.done():
                pending.future.set_exception(self._closed_error())
        await asyncio.gather(
            *(b.task for b in batches if b.task is not None), return_exceptions=True
        )

    def _busy(self) -> int:
        """Slots held: batch calls in flight for less than their share of the timeout."""
        now = asyncio.get_running_loop().time()
        return sum(1 for b in self._batches if b.holds_until is not None and now < b.holds_until)

    def _pump(self) -> None:
        policy = self._policy
        while self._queue and (self._busy() < policy.max_in_flight or self._unbounded()):
            if not self._dispatch():
                return

    def _dispatch(self) -> bool:
        """Sends the oldest queued items (up to max_batch) as one batch call; False when
        none was left to send."""
        items: list[_Pending[ItemT, ResultT]] = []
        while self._queue and len(items) < self._policy.max_batch:
            pending = self._queue.popleft()
            if not pending.future.done():
                items.append(pending)
        if not items:
            return False
        self._start(items, holds_slot=True)
        return True

    def _start(self, items: list[_Pending[ItemT, ResultT]], *, holds_slot: bool) -> None:
        holds_until = None
        if holds_slot:
            now = asyncio.get_running_loop().time()
            longest = max(p.deadline for p in items) - now
            holds_until = now + max(longest, 0.0) * self._policy.max_wait_share
        batch = _Batch(items, holds_until)
        for pending in items:
            pending.batch = batch
        self._batches.add(batch)
        batch.task = asyncio.get_running_loop().create_task(self._run(batch))

    def _overdue(self, pending: _Pending[ItemT, ResultT]) -> None:
        # Still queued after its share of waiting: out it goes alone, past the bound (the
        # items behind it have more time left; a batch answered as a whole must not hold
        # this one until the longest of theirs).
        if self._closed or pending.batch is not None or pending.future.done():
            return
        self._pump()  # the calls in flight may have held their slots long enough
        if pending.batch is not None or pending.future.done():
            return
        self._remove_queued(pending)
        self._start([pending], holds_slot=False)

    async def _run(self, batch: _Batch[ItemT, ResultT]) -> None:
        try:
            now = asyncio.get_running_loop().time()
            entries = [(p.item, max(p.deadline - now, 0.0)) for p in batch.items]
            timeout = max(left for _, left in entries)
            try:
                outcomes = await self._send(entries, timeout)
                if len(outcomes) != len(entries):
                    raise BatchSizeMismatchError(
                        f"{len(outcomes)} outcomes for a batch of {len(entries)} items"
                    )
            except asyncio.CancelledError:
                raise
            except Exception as error:
                for pending in batch.items:
                    _settle(pending, error)
            else:
                for pending, outcome in zip(batch.items, outcomes, strict=True):
                    _settle(pending, outcome)
        finally:
            self._batches.discard(batch)
            if not self._closed:
                self._pump()

    def _expire(self, pending: _Pending[ItemT, ResultT]) -> None:
        if pending.future.done():
            return
        pending.future.set_exception(self._timeout_error())
        batch = pending.batch
        if batch is None:
            self._remove_queued(pending)
        elif self._on_expire is not None and any(not other.future.done() for other in batch.items):
            # The batch call goes on for others: tell the caller this item was late.
            # The last item of a batch to expire is not reported: the batch call's own
            # deadline (its longest item's) ends then, and the downstream judges that
            # call, so a batch of N late items counts N, as N late unary calls would.
            self._on_expire(pending.item, pending.timeout)
        if not self._closed:
            self._pump()

    def _abandon(self, pending: _Pending[ItemT, ResultT]) -> None:
        batch = pending.batch
        if batch is None:
            self._remove_queued(pending)
            return
        batch.cancelled += 1
        if batch.cancelled == len(batch.items) and batch.task is not None:
            # Nobody waits for any of its items any more.
            batch.task.cancel()

    def _remove_queued(self, pending: _Pending[ItemT, ResultT]) -> None:
        with contextlib.suppress(ValueError):
            self._queue.remove(pending)


def _settle(pending: _Pending[ItemT, ResultT], outcome: ResultT | BaseException) -> None:
    if pending.future.done():
        return
    if isinstance(outcome, BaseException):
        pending.future.set_exception(outcome)
    else:
        pending.future.set_result(outcome)
