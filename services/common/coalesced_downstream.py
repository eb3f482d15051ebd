"""Calls to one downstream, coalesced into its batch RPC under load (issue 16, item 1).

`CoalescedDownstream.call(request, decode, timeout)` answers one request the way a
unary call through the `Downstream` would: the decoded reply, or a DownstreamError
(DownstreamCallError with the status' code, message and ErrorInfo, so `has_reason`
works; MalformedReplyError; DownstreamOpenError). With batching on, requests go
through a `Coalescer`: alone at once when the service is quiet, as one batch RPC
(GetCandidatesBatch, RankBatch, GetFeaturesBatch) of those that arrived meanwhile
when a call is in flight. A batch call is one `Downstream.call`, so replicas,
breakers, ejection, the transport retry and failing open at once are unchanged.

Each item carries its own W3C trace context (the caller's current span, injected with
the configured propagator) and the time it has left (`BatchItemContext`), so the
server's spans of every item join that item's trace. A lone item (the coalescer
sends it at once, or it was the only one queued) goes out as the unary call, exactly
as with batching off. A batch of two or more runs in an INTERNAL span
`coalesced <Method>` with `recmesh.batch_size`, a root linked to every item's span.

What the breaker learns: a batch call that fails is judged as a unary call would be.
A batch where some item succeeded, or was answered on purpose (a status about the
request, or with an ErrorInfo reason), counts as a success. A batch whose every item
failed is judged as its unary calls would be together: a failure when any item failed
against the replica (a failure-class status without ErrorInfo, a late item granted
enough time, a malformed reply), judged as the first such item's failure (and, for
UNAVAILABLE without a reason, retried on another replica); no verdict when every item
was given too little time to tell.

A replica that answers the batch RPC UNIMPLEMENTED (a server from before the batch
RPCs) is sent unary calls from then on, each item in its own trace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeAlias, TypeVar

import grpc
import structlog
from google.rpc.status_pb2 import Status
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind

from recmesh.api.common.v1 import batch_pb2
from services.common.coalescer import Coalescer, CoalescingPolicy, Entry
from services.common.downstream import Downstream, DownstreamPolicy, Replica
from services.common.downstream_errors import (
    DownstreamCallError,
    DownstreamError,
    MalformedReplyError,
    Verdict,
    judge,
    parsed,
)

log = structlog.get_logger("recmesh.downstream")

StubT = TypeVar("StubT")
ReqT = TypeVar("ReqT")
RespT = TypeVar("RespT")
ValueT = TypeVar("ValueT")

#: One unary call on a replica's stub: (stub, request, timeout) -> reply (None: it did
#: not parse).
UnaryCall: TypeAlias = Callable[[StubT, ReqT, float], Awaitable[RespT | None]]
#: One batch call on a replica's stub: (stub, [(request, context)], timeout) -> one
#: (status, response or None) per item, in order. Raises MalformedReplyError when the
#: reply does not parse.
BatchCall: TypeAlias = Callable[
    [StubT, list[tuple[ReqT, batch_pb2.BatchItemContext]], float],
    Awaitable[Sequence[tuple[batch_pb2.ItemStatus, RespT | None]]],
]
#: Turns one item's OK response into the caller's value; raises MalformedReplyError.
Decode: TypeAlias = Callable[[RespT | None], ValueT]

_CODES = {code.value[0]: code for code in grpc.StatusCode}


def batch_call(
    method: str, batch_request: type[Any], batch_item: type[Any], batch_response: type[Any]
) -> BatchCall[Any, Any, Any]:
    """The BatchCall of one `<Method>Batch` RPC: packs (request, context) items into
    `batch_request(items=[batch_item(request=, context=)])`, calls `stub.<method>` and
    unpacks `batch_response.results` into (status, response or None) per item.
    Raises MalformedReplyError when the reply does not parse."""

    async def call(
        stub: Any,
        items: list[tuple[Any, batch_pb2.BatchItemContext]],
        timeout: float,  # noqa: ASYNC109 - the gRPC deadline of the call
    ) -> list[tuple[batch_pb2.ItemStatus, Any]]:
        reply = await getattr(stub, method)(
            batch_request(
                items=[batch_item(request=request, context=context) for request, context in items]
            ),
            timeout=timeout,
        )
        results = parsed(reply, batch_response).results
        return [(r.status, r.response if r.HasField("response") else None) for r in results]

    return call


_STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class BatchingOptions:
    """Whether a caller coalesces its calls to a downstream, and its bounds."""

    enabled: bool = True
    max_in_flight: int = 2
    max_batch: int = 32

    def __post_init__(self) -> None:
        CoalescingPolicy(self.max_in_flight, self.max_batch)  # checks the bounds

    @property
    def policy(self) -> CoalescingPolicy:
        return CoalescingPolicy(self.max_in_flight, self.max_batch)


NO_BATCHING = BatchingOptions(enabled=False)


@dataclass(frozen=True)
class BatchRpc(Generic[StubT, ReqT, RespT]):
    """A downstream method and its batch form: `method` names the unary method (for
    spans and logs)."""

    method: str
    unary: UnaryCall[StubT, ReqT, RespT]
    batch: BatchCall[StubT, ReqT, RespT]


@dataclass(frozen=True)
class _Item(Generic[ReqT, RespT, ValueT]):
    request: ReqT
    decode: Decode[RespT, ValueT]
    carrier: dict[str, str]
    context: otel_context.Context


def item_error(status: batch_pb2.ItemStatus) -> DownstreamCallError:
    """The error a unary call ending with `status` raises: the same code, message and
    ErrorInfo (ItemStatus has google.rpc.Status's fields and numbers)."""
    code = _CODES.get(status.code, grpc.StatusCode.UNKNOWN)
    trailer: tuple[tuple[str, bytes], ...] = ()
    if status.details:
        rpc_status = Status.FromString(status.SerializeToString())
        trailer = ((_STATUS_DETAILS_KEY, rpc_status.SerializeToString()),)
    return DownstreamCallError(
        grpc.aio.AioRpcError(
            code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailer), status.message, None
        )
    )


def deadline_exceeded() -> DownstreamCallError:
    """What a unary call whose deadline passes raises."""
    return DownstreamCallError(
        grpc.aio.AioRpcError(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(),
            "Deadline Exceeded",
            None,
        )
    )


class _EveryItemFailed:
    """Raised out of the Downstream when every item failed against the replica, so its
    breaker judges the call; carries each item's own outcome."""

    outcomes: Sequence[Any]


class _EveryItemFailedCallError(DownstreamCallError, _EveryItemFailed):
    def __init__(self, first: DownstreamCallError, outcomes: Sequence[Any]) -> None:
        DownstreamError.__init__(self, str(first))
        self.code = first.code
        self.details = first.details
        self.info = first.info
        self.outcomes = outcomes


class _EveryItemMalformedError(MalformedReplyError, _EveryItemFailed):
    def __init__(self, first: DownstreamError, outcomes: Sequence[Any]) -> None:
        super().__init__(str(first))
        self.outcomes = outcomes


class _EveryItemUnjudgedError(Exception, _EveryItemFailed):
    """Every item failed too soon to judge the replica. Not a DownstreamError, so the
    Downstream releases the replica's breaker without a verdict, as for each such
    unary call."""

    def __init__(self, outcomes: Sequence[Any]) -> None:
        super().__init__("every item of the batch failed too soon to judge the replica")
        self.outcomes = outcomes


class CoalescedDownstream(Generic[StubT, ReqT, RespT, ValueT]):
    """`rpc` on `downstream`, coalesced under load when `options.enabled`."""

    def __init__(
        self,
        downstream: Downstream[StubT],
        rpc: BatchRpc[StubT, ReqT, RespT],
        options: BatchingOptions,
        tracer: trace.Tracer | None = None,
        policy: DownstreamPolicy | None = None,
    ) -> None:
        self.downstream = downstream
        self._rpc = rpc
        self._options = options
        self._tracer = tracer or trace.get_tracer("recmesh.coalescer")
        self._min_judged_s = (policy or DownstreamPolicy()).min_judged_deadline_s
        self._unary_only: set[int] = set()
        # The replica each item in flight was sent to.
        self._replica_of: dict[int, Replica[StubT]] = {}
        self._coalescer: Coalescer[_Item[ReqT, RespT, ValueT], ValueT] | None = (
            Coalescer(
                self._send,
                options.policy,
                timeout_error=deadline_exceeded,
                on_expire=self._expired,
                unbounded=lambda: downstream.is_open,
                # The caller stops: what is still queued fails open like a failed call.
                closed_error=lambda: DownstreamError(f"the {downstream.service} client is closed"),
            )
            if options.enabled
            else None
        )

    @property
    def options(self) -> BatchingOptions:
        return self._options

    async def call(
        self,
        request: ReqT,
        decode: Decode[RespT, ValueT],
        timeout: float,  # noqa: ASYNC109 - the deadline of the call
    ) -> ValueT:
        """decode(the reply to request), within timeout seconds; raises a DownstreamError
        as a unary call through the Downstream would."""
        if self._coalescer is None:
            return await self.downstream.call(partial(self._unary, request, decode), timeout)
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        item: _Item[ReqT, RespT, ValueT] = _Item(
            request, decode, carrier, otel_context.get_current()
        )
        return await self._coalescer.call(item, timeout)

    async def close(self) -> None:
        if self._coalescer is not None:
            await self._coalescer.close()

    async def _unary(
        self,
        request: ReqT,
        decode: Decode[RespT, ValueT],
        stub: StubT,
        timeout: float,  # noqa: ASYNC109 - the gRPC deadline of the call
    ) -> ValueT:
        return decode(await self._rpc.unary(stub, request, timeout))

    async def _send(
        self,
        entries: Sequence[Entry[_Item[ReqT, RespT, ValueT]]],
        timeout: float,  # noqa: ASYNC109 - the longest time an item has left
    ) -> Sequence[ValueT | BaseException]:
        items = [item for item, _ in entries]
        if len(items) == 1:
            return [await self._alone(items[0], timeout)]
        parent = otel_context.Context()
        links = [Link(trace.get_current_span(item.context).get_span_context()) for item in items]
        with self._tracer.start_as_current_span(
            f"coalesced {self._rpc.method}",
            context=parent,
            kind=SpanKind.INTERNAL,
            links=links,
            attributes={"recmesh.batch_size": len(items)},
        ):
            try:
                return await self.downstream.call(partial(self._invoke, entries), timeout)
            except (
                _EveryItemFailedCallError,
                _EveryItemMalformedError,
                _EveryItemUnjudgedError,
            ) as failed:
                outcomes: Sequence[ValueT | BaseException] = failed.outcomes
                return outcomes
            finally:
                for item in items:
                    self._replica_of.pop(id(item), None)

    async def _alone(
        self,
        item: _Item[ReqT, RespT, ValueT],
        timeout: float,  # noqa: ASYNC109 - the time the item has left
    ) -> ValueT:
        """A lone item goes out as the unary call, in the item's own trace, exactly as
        with batching off: no batch to encode, no batch span, no per-item span on the
        server. Its failure raises, and the Downstream judges it as any unary call."""
        token = otel_context.attach(item.context)
        try:
            return await self.downstream.call(
                partial(self._unary, item.request, item.decode), timeout
            )
        finally:
            otel_context.detach(token)

    def _expired(self, item: _Item[ReqT, RespT, ValueT], timeout: float) -> None:
        """An item in flight missed its own deadline: what a unary call missing it tells
        the breaker of the replica it was sent to (a failure, when the caller granted
        enough time to judge), so a hung replica is ejected after as many late requests
        as with unary calls, not as many late batch calls."""
        replica = self._replica_of.get(id(item))
        if replica is not None and timeout >= self._min_judged_s:
            replica.breaker.failed()

    async def _invoke(
        self,
        entries: Sequence[Entry[_Item[ReqT, RespT, ValueT]]],
        stub: StubT,
        granted: float,
    ) -> Sequence[ValueT | BaseException]:
        granted_each = [min(left, granted) for _, left in entries]
        for replica in self.downstream.replicas:
            if replica.stub is stub:
                for item, _ in entries:
                    self._replica_of[id(item)] = replica
        if id(stub) in self._unary_only:
            outcomes = await self._each_unary(entries, stub, granted_each)
        else:
            try:
                outcomes = await self._batch(entries, stub, granted, granted_each)
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                    raise
                self._unary_only.add(id(stub))
                log.warning(
                    "downstream_batch_unimplemented",
                    service=self.downstream.service,
                    method=self._rpc.method,
                    detail=exc.details(),
                )
                outcomes = await self._each_unary(entries, stub, granted_each)
        self._judge_items(outcomes, granted_each)
        return outcomes

    async def _batch(
        self,
        entries: Sequence[Entry[_Item[ReqT, RespT, ValueT]]],
        stub: StubT,
        granted: float,
        granted_each: list[float],
    ) -> list[ValueT | BaseException]:
        requests = [
            (
                item.request,
                batch_pb2.BatchItemContext(
                    trace_context=item.carrier, remaining_us=max(1, int(left * 1e6))
                ),
            )
            for (item, _), left in zip(entries, granted_each, strict=True)
        ]
        results = await self._rpc.batch(stub, requests, granted)
        if len(results) != len(entries):
            raise MalformedReplyError(
                f"{self.downstream.service} answered {len(results)} results "
                f"for a batch of {len(entries)} items"
            )
        outcomes: list[ValueT | BaseException] = []
        for (item, _), (status, response) in zip(entries, results, strict=True):
            if status.code != 0:
                outcomes.append(item_error(status))
                continue
            try:
                outcomes.append(item.decode(response))
            except DownstreamError as error:
                outcomes.append(error)
        return outcomes

    async def _each_unary(
        self,
        entries: Sequence[Entry[_Item[ReqT, RespT, ValueT]]],
        stub: StubT,
        granted_each: list[float],
    ) -> list[ValueT | BaseException]:
        async def one(item: _Item[ReqT, RespT, ValueT], left: float) -> ValueT | BaseException:
            token = otel_context.attach(item.context)
            try:
                return item.decode(await self._rpc.unary(stub, item.request, left))
            except grpc.aio.AioRpcError as exc:
                return DownstreamCallError(exc)
            except DownstreamError as error:
                return error
            finally:
                otel_context.detach(token)

        return list(
            await asyncio.gather(
                *(one(item, left) for (item, _), left in zip(entries, granted_each, strict=True))
            )
        )

    def _judge_items(
        self, outcomes: Sequence[ValueT | BaseException], granted_each: list[float]
    ) -> None:
        """When every item failed, tells the Downstream what the batch says about the
        replica, as the unary calls would have together: healthy if any item was
        answered on purpose, failed if any item failed against it, and nothing either
        way when every item was given too little time to tell."""
        errors = [o for o in outcomes if isinstance(o, DownstreamError)]
        if len(errors) != len(outcomes) or not errors:
            return
        verdicts = [
            judge(error, left, self._min_judged_s)
            for error, left in zip(errors, granted_each, strict=True)
        ]
        if Verdict.ANSWERED in verdicts:
            return
        failed = [error for error, v in zip(errors, verdicts, strict=True) if v is Verdict.FAILED]
        if not failed:
            raise _EveryItemUnjudgedError(outcomes)
        first = failed[0]
        if isinstance(first, DownstreamCallError):
            raise _EveryItemFailedCallError(first, outcomes)
        raise _EveryItemMalformedError(first, outcomes)


__all__ = [
    "NO_BATCHING",
    "BatchCall",
    "BatchRpc",
    "BatchingOptions",
    "CoalescedDownstream",
    "Decode",
    "UnaryCall",
    "batch_call",
    "deadline_exceeded",
    "item_error",
]
