"""Server-side plumbing of the batch RPCs (GetCandidatesBatch, GetFeaturesBatch, RankBatch).

Each item of a batch is answered alone: `BatchItems` keeps one slot per item, in the
items' order, with the item's own span (a SERVER span named like the unary method's,
whose parent is extracted from the item's W3C trace context, so the item's trace holds
this service's span) and, once decided, its `ItemStatus`. A RecmeshError raised for an
item becomes that item's status (code, message and ErrorInfo, as the unary call's status
would carry them); an item whose `remaining_us` has elapsed when its work starts is
answered DEADLINE_EXCEEDED. Work shared by several items runs in one INTERNAL span
linked to every item's span (`shared_span`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import grpc
from google.protobuf.any_pb2 import Any as AnyMessage
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from recmesh.api.common.v1 import batch_pb2
from recmesh.rpc.errors import DeadlineExceededError, RecmeshError
from services.common.versions import VersionRegistry

ReqT = TypeVar("ReqT")
RespT = TypeVar("RespT")
T = TypeVar("T")
R = TypeVar("R")

OK = batch_pb2.ItemStatus(code=0)


def item_status(error: RecmeshError) -> batch_pb2.ItemStatus:
    """The status a unary call failing with `error` would end with, as an ItemStatus."""
    status = batch_pb2.ItemStatus(code=error.code.value[0], message=str(error))
    info = error.error_info()
    if info is not None:
        detail = AnyMessage()
        detail.Pack(info)
        status.details.append(detail)
    return status


def internal_status(error: BaseException) -> batch_pb2.ItemStatus:
    """An unexpected failure of an item's work (a bug): INTERNAL, as a unary call's."""
    return batch_pb2.ItemStatus(
        code=grpc.StatusCode.INTERNAL.value[0], message=f"{type(error).__name__}: {error}"
    )


@dataclass
class ItemSlot(Generic[ReqT, RespT]):
    """One item of a batch: its request, context, span and outcome."""

    index: int
    request: ReqT
    context: batch_pb2.BatchItemContext
    span: trace.Span
    status: batch_pb2.ItemStatus | None = None
    response: RespT | None = None

    @property
    def pending(self) -> bool:
        return self.status is None

    def fail(self, error: RecmeshError) -> None:
        self.status = item_status(error)

    def fail_with(self, error: Exception) -> None:
        """The status a unary call raising `error` ends with: a RecmeshError's own,
        anything else (a bug) INTERNAL."""
        self.status = (
            item_status(error) if isinstance(error, RecmeshError) else internal_status(error)
        )

    def answer(self, response: RespT) -> None:
        self.status = OK
        self.response = response

    def remaining_s(self, received: float, now: float) -> float | None:
        """What is left of the item's own deadline at `now` (None: it has none)."""
        if self.context.remaining_us == 0:
            return None
        return self.context.remaining_us / 1e6 - (now - received)

    def trace_carrier(self) -> dict[str, str]:
        """The item's span context as W3C trace context, for an outgoing item."""
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(self.span))
        return carrier


@dataclass
class BatchItems(Generic[ReqT, RespT]):
    """The slots of one batch call, in the items' order."""

    slots: list[ItemSlot[ReqT, RespT]]
    received: float = field(default_factory=time.monotonic)

    @classmethod
    def open(
        cls,
        tracer: trace.Tracer,
        span_name: str,
        items: Sequence[tuple[ReqT, batch_pb2.BatchItemContext]],
    ) -> BatchItems[ReqT, RespT]:
        """Slots for `items`, each with its SERVER span started in the item's trace."""
        received = time.monotonic()
        service, _, method = span_name.lstrip("/").rpartition("/")
        attributes: dict[str, str | int] = {
            "rpc.system": "grpc",
            "rpc.service": service,
            "rpc.method": method,
            "recmesh.batch_size": len(items),
        }
        slots = [
            ItemSlot[ReqT, RespT](
                index=index,
                request=request,
                context=context,
                span=tracer.start_span(
                    span_name,
                    context=propagate.extract(dict(context.trace_context)),
                    kind=SpanKind.SERVER,
                    attributes={**attributes, "recmesh.batch_index": index},
                ),
            )
            for index, (request, context) in enumerate(items)
        ]
        return cls(slots=slots, received=received)

    def pending(self) -> list[ItemSlot[ReqT, RespT]]:
        return [slot for slot in self.slots if slot.status is None]

    def expire(self, slots: Sequence[ItemSlot[ReqT, RespT]]) -> list[ItemSlot[ReqT, RespT]]:
        """Answers DEADLINE_EXCEEDED those of `slots` whose remaining_us has elapsed now
        (since the batch arrived); returns the others, still pending."""
        now = time.monotonic()
        alive = []
        for slot in slots:
            left = slot.remaining_s(self.received, now)
            if left is not None and left <= 0:
                waited_ms = (now - self.received) * 1000
                slot.fail(
                    DeadlineExceededError(
                        f"the item's deadline ({slot.context.remaining_us} us) passed "
                        f"before its work started ({waited_ms:.3f} ms after the batch arrived)"
                    )
                )
            else:
                alive.append(slot)
        return alive

    def fail_all(self, slots: Sequence[ItemSlot[ReqT, RespT]], error: RecmeshError) -> None:
        for slot in slots:
            if slot.status is None:
                slot.fail(error)

    def finish(self) -> list[tuple[batch_pb2.ItemStatus, RespT | None]]:
        """Ends every item's span with its status; an item left undecided (a bug) is
        INTERNAL. Returns (status, response when OK) per item, in order."""
        results: list[tuple[batch_pb2.ItemStatus, RespT | None]] = []
        for slot in self.slots:
            status = slot.status
            if status is None:
                status = slot.status = batch_pb2.ItemStatus(
                    code=grpc.StatusCode.INTERNAL.value[0], message="the item was not answered"
                )
            span = slot.span
            span.set_attribute("rpc.grpc.status_code", status.code)
            if status.code != 0:
                name = grpc.StatusCode.INTERNAL.name
                for code in grpc.StatusCode:
                    if code.value[0] == status.code:
                        name = code.name
                span.set_status(Status(StatusCode.ERROR, f"{name}: {status.message}"))
            span.end()
            results.append((status, slot.response if status.code == 0 else None))
        return results

    def abandon(self) -> None:
        """Ends the spans of a batch call that failed as a whole."""
        for slot in self.slots:
            if slot.span.is_recording():
                slot.span.end()


@contextmanager
def shared_span(
    tracer: trace.Tracer, name: str, slots: Sequence[ItemSlot[ReqT, RespT]], **attributes: object
) -> Iterator[trace.Span]:
    """An INTERNAL span (child of the batch call's span) around work shared by `slots`,
    linked to each item's span so every item's trace reaches it. The work of a lone
    item runs in that item's own span instead (no span of its own to pay for)."""
    if len(slots) == 1:
        with trace.use_span(slots[0].span, end_on_exit=False) as span:
            yield span
        return
    links = [Link(slot.span.get_span_context()) for slot in slots]
    attrs = {key: value for key, value in attributes.items() if isinstance(value, int | str)}
    with tracer.start_as_current_span(
        name, kind=SpanKind.INTERNAL, links=links, attributes={"recmesh.items": len(slots), **attrs}
    ) as span:
        yield span


def computed_apart_on_failure(
    slots: Sequence[ItemSlot[ReqT, RespT]],
    compute: Callable[[Sequence[ItemSlot[ReqT, RespT]]], Sequence[R]],
) -> list[tuple[ItemSlot[ReqT, RespT], R]]:
    """`compute` (one result per slot, in order) over every slot at once; when that
    raises, over each slot alone, so an item that breaks the shared work fails alone
    (`fail_with`, as its unary call would end) and the others still answer. Returns
    the slots that got a result, each with it."""
    try:
        return list(zip(slots, compute(slots), strict=True))
    except Exception as error:
        if len(slots) == 1:
            slots[0].fail_with(error)
            return []
    answered: list[tuple[ItemSlot[ReqT, RespT], R]] = []
    for slot in slots:
        try:
            (result,) = compute([slot])
        except Exception as error:
            slot.fail_with(error)
            continue
        answered.append((slot, result))
    return answered


async def version_groups(
    versions: VersionRegistry[T],
    slots: Sequence[ItemSlot[ReqT, RespT]],
    version_of: Callable[[ReqT], str],
) -> list[tuple[str, T, list[ItemSlot[ReqT, RespT]]]]:
    """The pending slots grouped by the serving version their request names, each
    group with its loaded version, in order of first appearance. A version this
    replica does not serve answers its items as the unary call would
    (FAILED_PRECONDITION or UNAVAILABLE, from the registry)."""
    groups: dict[str, list[ItemSlot[ReqT, RespT]]] = {}
    for slot in slots:
        if slot.status is None:
            groups.setdefault(version_of(slot.request), []).append(slot)
    # Asked together: a version whose first load attempt is in progress is waited for
    # once, not before the next version is asked for.
    answers = await asyncio.gather(
        *(versions.get(version_id) for version_id in groups), return_exceptions=True
    )
    loaded: list[tuple[str, T, list[ItemSlot[ReqT, RespT]]]] = []
    for (version_id, members), answer in zip(groups.items(), answers, strict=True):
        if isinstance(answer, RecmeshError):
            for slot in members:
                slot.fail(answer)
        elif isinstance(answer, BaseException):
            raise answer
        else:
            loaded.append((version_id, answer.value, members))
    return loaded
