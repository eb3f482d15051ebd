"""services/common/batch_items.py: a failed item's status is the unary call's (code,
message, ErrorInfo); an item's span joins the item's own trace; an item whose own
deadline has passed is DEADLINE_EXCEEDED; every item's span ends with its status."""

from __future__ import annotations

import time
from collections.abc import Sequence

import grpc
from google.rpc.error_details_pb2 import ErrorInfo
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from recmesh.api.common.v1 import batch_pb2
from recmesh.rpc.errors import InvalidArgumentError
from recmesh.wire.rank_errors import DOMAIN, FEATURES_UNAVAILABLE
from services.common.batch_items import (
    OK,
    BatchItems,
    ItemSlot,
    computed_apart_on_failure,
    item_status,
    shared_span,
)
from services.ranking.errors import FeaturesUnavailableError

NAME = "/recmesh.features.v1.FeaturesService/GetFeatures"


def _tracing() -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def test_item_status_carries_code_message_and_error_info() -> None:
    status = item_status(FeaturesUnavailableError("features unavailable: late"))
    assert status.code == grpc.StatusCode.UNAVAILABLE.value[0]
    assert status.message == "features unavailable: late"
    (detail,) = status.details
    info = ErrorInfo()
    assert detail.Unpack(info)
    assert (info.domain, info.reason) == (DOMAIN, FEATURES_UNAVAILABLE)
    plain = item_status(InvalidArgumentError("k must be between 1 and 1000, got 0"))
    assert plain.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert not plain.details


def test_each_item_span_joins_its_own_trace_and_ends_with_its_status() -> None:
    tracer, exporter = _tracing()
    callers = [tracer.start_span(f"caller-{i}") for i in range(3)]
    contexts = []
    for caller in callers:
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(caller))
        contexts.append(batch_pb2.BatchItemContext(trace_context=carrier))
    items: BatchItems[str, str] = BatchItems.open(
        tracer, NAME, [(f"request-{i}", c) for i, c in enumerate(contexts)]
    )
    items.slots[0].answer("answer-0")
    items.slots[1].fail(InvalidArgumentError("user_id must not be empty"))
    with shared_span(tracer, "shared", items.slots):
        pass
    results = items.finish()
    assert results[0] == (OK, "answer-0")
    assert results[1][0].code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert results[1][1] is None
    assert results[2][0].code == grpc.StatusCode.INTERNAL.value[0]  # never answered
    spans = {s.name: s for s in exporter.get_finished_spans() if s.name != NAME}
    item_spans = [s for s in exporter.get_finished_spans() if s.name == NAME]
    assert len(item_spans) == 3
    for caller, span in zip(callers, item_spans, strict=True):
        assert span.kind == SpanKind.SERVER
        assert span.context is not None
        assert span.context.trace_id == caller.get_span_context().trace_id
        assert span.parent is not None
        assert span.parent.span_id == caller.get_span_context().span_id
    assert item_spans[0].status.status_code == StatusCode.UNSET
    assert item_spans[1].status.status_code == StatusCode.ERROR
    assert {link.context.trace_id for link in spans["shared"].links} == {
        c.get_span_context().trace_id for c in callers
    }


def test_only_items_whose_own_deadline_passed_expire() -> None:
    tracer, _ = _tracing()
    items: BatchItems[str, str] = BatchItems.open(
        tracer,
        NAME,
        [
            ("none", batch_pb2.BatchItemContext()),
            ("gone", batch_pb2.BatchItemContext(remaining_us=1)),
            ("later", batch_pb2.BatchItemContext(remaining_us=60_000_000)),
        ],
    )
    time.sleep(0.001)
    alive = items.expire(items.slots)
    assert [slot.request for slot in alive] == ["none", "later"]
    status = items.slots[1].status
    assert status is not None
    assert status.code == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
    assert "deadline" in status.message
    items.abandon()


def test_a_lone_items_shared_work_runs_in_its_own_span() -> None:
    tracer, exporter = _tracing()
    items: BatchItems[str, str] = BatchItems.open(
        tracer, NAME, [("only", batch_pb2.BatchItemContext())]
    )
    with shared_span(tracer, "shared", items.slots) as span:
        assert span is items.slots[0].span
        assert trace.get_current_span() is items.slots[0].span
    items.slots[0].answer("answer")
    items.finish()
    assert [s.name for s in exporter.get_finished_spans()] == [NAME]


def test_work_that_breaks_on_one_item_is_redone_per_item_and_fails_only_that_one() -> None:
    """The shared computation raises because of item 1; redone per item, items 0 and 2
    answer, item 1 fails alone (a RecmeshError keeps its code; a bug is INTERNAL)."""
    tracer, _ = _tracing()
    for error, code in (
        (InvalidArgumentError("item 1 is bad"), grpc.StatusCode.INVALID_ARGUMENT),
        (ZeroDivisionError("division by zero"), grpc.StatusCode.INTERNAL),
    ):
        items: BatchItems[str, str] = BatchItems.open(
            tracer, NAME, [(f"request-{i}", batch_pb2.BatchItemContext()) for i in range(3)]
        )
        calls: list[list[int]] = []

        def compute(
            slots: Sequence[ItemSlot[str, str]],
            error: Exception = error,
            calls: list[list[int]] = calls,
        ) -> list[str]:
            calls.append([slot.index for slot in slots])
            if any(slot.index == 1 for slot in slots):
                raise error
            return [slot.request.upper() for slot in slots]

        answered = computed_apart_on_failure(items.slots, compute)
        assert calls == [[0, 1, 2], [0], [1], [2]]
        assert [(slot.index, result) for slot, result in answered] == [
            (0, "REQUEST-0"),
            (2, "REQUEST-2"),
        ]
        status = items.slots[1].status
        assert status is not None
        assert status.code == code.value[0]
        assert str(error) in status.message
        assert items.slots[0].pending
        assert items.slots[2].pending


def test_shared_work_that_succeeds_runs_once() -> None:
    tracer, _ = _tracing()
    items: BatchItems[str, str] = BatchItems.open(
        tracer, NAME, [(f"r{i}", batch_pb2.BatchItemContext()) for i in range(3)]
    )
    calls: list[int] = []

    def compute(slots: Sequence[ItemSlot[str, str]]) -> list[int]:
        calls.append(len(slots))
        return [slot.index for slot in slots]

    assert [r for _, r in computed_apart_on_failure(items.slots, compute)] == [0, 1, 2]
    assert calls == [3]
