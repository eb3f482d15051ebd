"""recmesh.telemetry.traced_stub: inside a span, a traced stub's unary call is an event
on that span (named after the method, with its duration and gRPC status) and carries
that span's trace in its metadata (W3C traceparent by default, else the configured
propagator); outside any span it opens one CLIENT span named after the method, which
records the status; streaming methods stay as generated. Calls go to a real grpc.aio
server on 127.0.0.1 (its handler records the metadata it received); a fake call checks
what the wrapper hands the call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind, StatusCode, get_current_span

from recmesh.api.controlplane.v1 import control_plane_pb2, control_plane_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.telemetry.traced_stub import TracedUnaryMethod, traced_stub

RANK = "/recmesh.ranking.v1.RankingService/Rank"
RANKING_SERVICE = ranking_pb2.DESCRIPTOR.services_by_name["RankingService"]


class _Ranking(ranking_pb2_grpc.RankingServiceServicer):
    """Records each call's metadata; answers, aborts with `fail`, or sleeps `delay` first."""

    def __init__(self) -> None:
        self.metadata: list[list[tuple[str, str | bytes]]] = []
        self.fail: tuple[grpc.StatusCode, str] | None = None
        self.delay = 0.0

    async def Rank(
        self, request: ranking_pb2.RankRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> ranking_pb2.RankResponse:
        self.metadata.append([(k, v) for k, v in context.invocation_metadata() or ()])
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            await context.abort(*self.fail)
        return ranking_pb2.RankResponse(serving_version=request.serving_version, scorer="echo")

    async def RankBatch(
        self,
        request: ranking_pb2.RankBatchRequest,
        context: grpc.aio.ServicerContext[object, object],
    ) -> ranking_pb2.RankBatchResponse:
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "this fake serves Rank only (traced unary calls)"
        )


def _tracing() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


@asynccontextmanager
async def _ranking_channel(servicer: _Ranking) -> AsyncIterator[grpc.aio.Channel]:
    server = grpc.aio.server()
    ranking_pb2_grpc.add_RankingServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        await server.stop(0)


def _only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def _values(metadata: Iterable[tuple[str, str | bytes]], key: str) -> list[str | bytes]:
    return [v for k, v in metadata if k == key]


def _traceparent(trace_id: int, span: SpanContext) -> str:
    """The W3C traceparent naming `span` in trace `trace_id` (sampled, so flags are odd)."""
    assert span.trace_flags.sampled
    return f"00-{trace_id:032x}-{span.span_id:016x}-{span.trace_flags:02x}"


def test_a_call_opens_one_client_span_named_after_the_method() -> None:
    """One CLIENT span per call, named /package.Service/Method, from the tracer
    recmesh.rpc.client, with rpc.system/service/method and status code 0 (OK); the
    response is the server's, unchanged."""
    provider, exporter = _tracing()
    servicer = _Ranking()

    async def main() -> ranking_pb2.RankResponse:
        async with _ranking_channel(servicer) as channel:
            stub = traced_stub(
                ranking_pb2_grpc.RankingServiceStub, channel, RANKING_SERVICE, provider
            )
            return await stub.Rank(ranking_pb2.RankRequest(serving_version="sv-1"), timeout=5)

    response = asyncio.run(main())
    assert response.serving_version == "sv-1"
    assert response.scorer == "echo"
    span = _only_span(exporter)
    assert span.name == RANK
    assert span.kind == SpanKind.CLIENT
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "recmesh.rpc.client"
    assert dict(span.attributes or {}) == {
        "rpc.system": "grpc",
        "rpc.service": "recmesh.ranking.v1.RankingService",
        "rpc.method": "Rank",
        "rpc.grpc.status_code": 0,
    }
    assert span.status.status_code == StatusCode.UNSET
    assert len(servicer.metadata) == 1


def test_inside_a_span_the_call_is_an_event_and_the_span_is_the_callees_parent() -> None:
    """Inside a span, no span of its own: the call is an event on the current span,
    named after the method, stamped with its start, carrying its duration and status
    0; the server receives a W3C traceparent naming the current span; the caller's own
    metadata arrives too."""
    provider, exporter = _tracing()
    servicer = _Ranking()
    servicer.delay = 0.05

    async def main() -> None:
        async with _ranking_channel(servicer) as channel:
            stub = traced_stub(
                ranking_pb2_grpc.RankingServiceStub, channel, RANKING_SERVICE, provider
            )
            with provider.get_tracer("test").start_as_current_span("request"):
                await stub.Rank(
                    ranking_pb2.RankRequest(), timeout=5, metadata=(("x-caller", "front"),)
                )

    asyncio.run(main())
    parent = _only_span(exporter)
    assert parent.name == "request"
    assert parent.context is not None
    [event] = parent.events
    assert event.name == RANK
    assert parent.start_time is not None
    assert parent.start_time <= event.timestamp
    attributes = dict(event.attributes or {})
    assert attributes["rpc.grpc.status_code"] == 0
    assert float(attributes["recmesh.call_ms"]) >= 50.0  # type: ignore[arg-type]
    assert "recmesh.call_error" not in attributes
    [received] = servicer.metadata
    assert _values(received, "x-caller") == ["front"]
    [traceparent] = _values(received, "traceparent")
    assert traceparent == _traceparent(parent.context.trace_id, parent.context)


def test_inside_a_span_a_failed_or_cancelled_call_is_an_event_with_its_status() -> None:
    """NOT_FOUND reaches the caller unchanged and the event says NOT_FOUND and why; a
    call its caller cancels is recorded CANCELLED."""
    provider, exporter = _tracing()
    servicer = _Ranking()

    async def main() -> grpc.aio.AioRpcError:
        async with _ranking_channel(servicer) as channel:
            stub = traced_stub(
                ranking_pb2_grpc.RankingServiceStub, channel, RANKING_SERVICE, provider
            )
            tracer = provider.get_tracer("test")
            servicer.fail = (grpc.StatusCode.NOT_FOUND, "no serving version sv-9")
            with (
                tracer.start_as_current_span("failed"),
                pytest.raises(grpc.aio.AioRpcError) as caught,
            ):
                await stub.Rank(ranking_pb2.RankRequest(), timeout=5)
            servicer.fail, servicer.delay = None, 5.0
            with tracer.start_as_current_span("cancelled"):
                call = asyncio.ensure_future(stub.Rank(ranking_pb2.RankRequest(), timeout=5))
                await asyncio.sleep(0.1)
                call.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await call
            return caught.value

    failed = asyncio.run(main())
    assert failed.code() == grpc.StatusCode.NOT_FOUND
    assert failed.details() == "no serving version sv-9"
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"failed", "cancelled"}
    [not_found] = spans["failed"].events
    assert dict(not_found.attributes or {})["rpc.grpc.status_code"] == 5
    assert dict(not_found.attributes or {})["recmesh.call_error"] == (
        "NOT_FOUND: no serving version sv-9"
    )
    [cancelled] = spans["cancelled"].events
    assert dict(cancelled.attributes or {})["rpc.grpc.status_code"] == 1
    assert dict(cancelled.attributes or {})["recmesh.call_error"] == (
        "CANCELLED: cancelled by the caller"
    )


def test_without_a_current_span_the_call_starts_a_trace() -> None:
    """With no span current, the call's span is a root and its own trace is sent."""
    provider, exporter = _tracing()
    servicer = _Ranking()

    async def main() -> None:
        async with _ranking_channel(servicer) as channel:
            stub = traced_stub(
                ranking_pb2_grpc.RankingServiceStub, channel, RANKING_SERVICE, provider
            )
            await stub.Rank(ranking_pb2.RankRequest(), timeout=5)

    asyncio.run(main())
    span = _only_span(exporter)
    assert span.parent is None
    assert span.context is not None
    [received] = servicer.metadata
    assert _values(received, "traceparent") == [_traceparent(span.context.trace_id, span.context)]


def test_a_failed_call_records_its_status_code_and_an_error_status() -> None:
    """The server's NOT_FOUND reaches the caller as the same AioRpcError; the span has
    rpc.grpc.status_code 5 and an ERROR status "NOT_FOUND: <details>", without an
    exception event."""
    provider, exporter = _tracing()
    servicer = _Ranking()
    servicer.fail = (grpc.StatusCode.NOT_FOUND, "no serving version sv-9")

    async def main() -> grpc.aio.AioRpcError:
        async with _ranking_channel(servicer) as channel:
            stub = traced_stub(
                ranking_pb2_grpc.RankingServiceStub, channel, RANKING_SERVICE, provider
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Rank(ranking_pb2.RankRequest(), timeout=5)
            return caught.value

    failed = asyncio.run(main())
    assert failed.code() == grpc.StatusCode.NOT_FOUND
    assert failed.details() == "no serving version sv-9"
    span = _only_span(exporter)
    assert span.attributes is not None
    assert span.attributes["rpc.grpc.status_code"] == 5
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "NOT_FOUND: no serving version sv-9"
    assert list(span.events) == []


def test_the_timeout_is_the_deadline_of_the_call() -> None:
    """A timeout shorter than the server's answer ends the call DEADLINE_EXCEEDED, and the
    span records status code 4."""
    provider, exporter = _tracing()
    servicer = _Ranking()
    servicer.delay = 2.0

    async def main() -> grpc.aio.AioRpcError:
        async with _ranking_channel(servicer) as channel:
            stub = traced_stub(
                ranking_pb2_grpc.RankingServiceStub, channel, RANKING_SERVICE, provider
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Rank(ranking_pb2.RankRequest(), timeout=0.1)
            return caught.value

    failed = asyncio.run(main())
    assert failed.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    span = _only_span(exporter)
    assert span.attributes is not None
    assert span.attributes["rpc.grpc.status_code"] == 4
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description is not None
    assert span.status.description.startswith("DEADLINE_EXCEEDED: ")


class _HeaderPropagator(TextMapPropagator):
    """Carries the span id in one header, x-test-span."""

    def inject(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        setter: Setter[CarrierT] = default_setter,
    ) -> None:
        span_context = get_current_span(context).get_span_context()
        setter.set(carrier, "x-test-span", f"{span_context.span_id:016x}")

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = default_getter,
    ) -> Context:
        return context or Context()

    @property
    def fields(self) -> set[str]:
        return {"x-test-span"}


def test_the_configured_propagator_writes_the_metadata() -> None:
    """With another global propagator the call carries its header, not a traceparent."""
    provider, exporter = _tracing()
    servicer = _Ranking()
    before = propagate.get_global_textmap()

    async def main() -> None:
        async with _ranking_channel(servicer) as channel:
            stub = traced_stub(
                ranking_pb2_grpc.RankingServiceStub, channel, RANKING_SERVICE, provider
            )
            await stub.Rank(ranking_pb2.RankRequest(), timeout=5)

    propagate.set_global_textmap(_HeaderPropagator())
    try:
        asyncio.run(main())
    finally:
        propagate.set_global_textmap(before)
    span = _only_span(exporter)
    assert span.context is not None
    [received] = servicer.metadata
    assert _values(received, "x-test-span") == [f"{span.context.span_id:016x}"]
    assert _values(received, "traceparent") == []


def test_only_unary_unary_methods_are_traced() -> None:
    """Every unary-unary method of the service is wrapped; client- and server-streaming
    methods (UploadArtifact, WatchPointer) stay the generated multicallables."""
    provider, _ = _tracing()
    service = control_plane_pb2.DESCRIPTOR.services_by_name["ControlPlaneService"]

    async def main() -> None:
        channel = grpc.aio.insecure_channel("127.0.0.1:1")
        try:
            stub = traced_stub(
                control_plane_pb2_grpc.ControlPlaneServiceStub, channel, service, provider
            )
            plain = control_plane_pb2_grpc.ControlPlaneServiceStub(channel)
            unary = [
                m.name for m in service.methods if not m.client_streaming and not m.server_streaming
            ]
            assert "WhoAmI" in unary
            assert "Promote" in unary
            for name in unary:
                assert isinstance(getattr(stub, name), TracedUnaryMethod), name
            assert type(stub.UploadArtifact) is type(plain.UploadArtifact)
            assert type(stub.WatchPointer) is type(plain.WatchPointer)
            assert not isinstance(stub.UploadArtifact, TracedUnaryMethod)
            assert not isinstance(stub.WatchPointer, TracedUnaryMethod)
        finally:
            await channel.close(None)

    asyncio.run(main())


class _FakeCall:
    """Stands in for a generated unary multicallable: records its arguments, then answers
    or raises."""

    def __init__(self, outcome: object = "answer") -> None:
        self.outcome = outcome
        self.calls: list[tuple[object, Mapping[str, Any]]] = []

    async def __call__(self, request: object, **kwargs: Any) -> object:
        self.calls.append((request, kwargs))
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def test_the_call_gets_the_request_timeout_and_metadata_with_the_trace_appended() -> None:
    """The wrapped call receives the request and timeout as given, and the caller's
    metadata followed by the propagator's headers."""
    provider, exporter = _tracing()
    call = _FakeCall()
    method = TracedUnaryMethod(call, RANK, provider.get_tracer("t"))
    request = ranking_pb2.RankRequest(k=3)

    response = asyncio.run(method(request, timeout=1.5, metadata=(("a", "1"), ("b", "2"))))

    assert response == "answer"
    span = _only_span(exporter)
    assert span.context is not None
    [(sent, kwargs)] = call.calls
    assert sent is request
    assert kwargs == {
        "timeout": 1.5,
        "metadata": (
            ("a", "1"),
            ("b", "2"),
            ("traceparent", _traceparent(span.context.trace_id, span.context)),
        ),
    }


def test_an_error_other_than_an_rpc_error_passes_through_without_a_status() -> None:
    """Only gRPC's AioRpcError sets a status code: another exception (a cancellation, a
    bug) is re-raised, and the ended span carries no status code, no error status and no
    exception event."""
    provider, exporter = _tracing()
    method = TracedUnaryMethod(_FakeCall(RuntimeError("boom")), RANK, provider.get_tracer("t"))

    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(method(ranking_pb2.RankRequest()))

    span = _only_span(exporter)
    assert span.attributes is not None
    assert "rpc.grpc.status_code" not in span.attributes
    assert span.attributes["rpc.method"] == "Rank"
    assert span.status.status_code == StatusCode.UNSET
    assert list(span.events) == []


def test_a_call_that_outlives_its_callers_span_is_a_client_span_under_it() -> None:
    """The caller's span ends while the call runs on (its request gave up; a coalesced
    call finishes later): an ended span takes no event, so the call is recorded as a
    CLIENT span under it, from the call's start, with its status."""
    provider, exporter = _tracing()
    servicer = _Ranking()
    servicer.delay = 0.2

    async def main() -> None:
        async with _ranking_channel(servicer) as channel:
            stub = traced_stub(
                ranking_pb2_grpc.RankingServiceStub, channel, RANKING_SERVICE, provider
            )
            caller = provider.get_tracer("test").start_span("request")
            with trace.use_span(caller, end_on_exit=False):
                call = asyncio.ensure_future(stub.Rank(ranking_pb2.RankRequest(), timeout=5))
            await asyncio.sleep(0.05)
            caller.end()
            await call

    asyncio.run(main())
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"request", RANK}
    request, client = spans["request"], spans[RANK]
    assert list(request.events) == []
    assert client.kind == SpanKind.CLIENT
    assert client.parent is not None
    assert request.context is not None
    assert client.parent.span_id == request.context.span_id
    assert client.start_time is not None
    assert request.end_time is not None
    assert client.start_time < request.end_time
    assert dict(client.attributes or {})["rpc.grpc.status_code"] == 0
