"""The instrumenting interceptor, through a real server and a real client: errors mapped
to their status, calls counted by code, a SERVER span per call joined to the caller's
trace, bodies that do not parse refused, health and reflection left alone; unary,
server-streaming (async generators and context.write) and client-streaming calls."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.rpc.error_details_pb2 import ErrorInfo
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, StatusCode

from recmesh.api.ranking.v1.ranking_pb2 import RankRequest
from recmesh.rpc.error_info import error_info
from recmesh.rpc.errors import FailedPreconditionError, UnauthenticatedError
from recmesh.server.handlers import Behavior, rewrap
from recmesh.server.interceptor_types import Continuation, MethodHandler, ServerInterceptorBase
from tests.server.probe_server import SERVICE, RunningProbe, running_probe

UNPARSABLE = b"\x0a\x05ab"  # field 1, length 5, but only two bytes follow


class RefusedError(FailedPreconditionError):
    def error_info(self) -> ErrorInfo:
        return ErrorInfo(domain="test.recmesh", reason="PROBE_REFUSED")


def _run(test: Callable[[RunningProbe], Awaitable[None]], **kwargs: Any) -> None:
    async def main() -> None:
        async with running_probe(**kwargs) as running:
            await test(running)

    asyncio.run(main())


async def _failure(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def _stream_failure(call: Any) -> tuple[list[str], grpc.aio.AioRpcError]:
    received: list[str] = []
    try:
        async for response in call:
            received.append(response.serving_version)
    except grpc.aio.AioRpcError as error:
        return received, error
    raise AssertionError(f"the stream ended without an error after {received}")


def test_a_recmesh_error_ends_the_call_with_its_code_message_and_error_info() -> None:
    async def test(running: RunningProbe) -> None:
        running.probe.error = RefusedError("not now")
        failed = await _failure(running.unary()(RankRequest(user_id="u"), timeout=5))
        assert failed.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert failed.details() == "not now"
        assert error_info(failed) == ErrorInfo(domain="test.recmesh", reason="PROBE_REFUSED")
        await running.spans(1)  # the call is measured before its span ends
        assert running.count("Unary", grpc.StatusCode.FAILED_PRECONDITION) == 1
        (span,) = await running.spans(1)
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "FAILED_PRECONDITION: not now"
        assert span.attributes is not None
        assert span.attributes["rpc.grpc.status_code"] == 9

    _run(test)


def test_a_recmesh_error_in_a_server_stream_ends_it_with_its_code() -> None:
    async def test(running: RunningProbe) -> None:
        running.probe.error = RefusedError("stop here")
        received, failed = await _stream_failure(running.stream()(RankRequest(user_id="u")))
        assert received == ["u-0"]
        assert failed.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert failed.details() == "stop here"
        assert error_info(failed) == ErrorInfo(domain="test.recmesh", reason="PROBE_REFUSED")
        await running.spans(1)
        assert running.count("Stream", grpc.StatusCode.FAILED_PRECONDITION) == 1
        (span,) = await running.spans(1)
        assert span.name == f"/{SERVICE}/Stream"
        assert span.status.description == "FAILED_PRECONDITION: stop here"

    _run(test)


def test_an_unexpected_exception_is_unknown_and_counted() -> None:
    async def test(running: RunningProbe) -> None:
        running.probe.error = RuntimeError("a bug")
        failed = await _failure(running.unary()(RankRequest(user_id="u"), timeout=5))
        assert failed.code() == grpc.StatusCode.UNKNOWN
        await running.spans(1)
        assert running.count("Unary", grpc.StatusCode.UNKNOWN) == 1
        received, failed = await _stream_failure(running.stream()(RankRequest(user_id="u")))
        assert received == ["u-0"]
        assert failed.code() == grpc.StatusCode.UNKNOWN
        await running.spans(2)
        assert running.count("Stream", grpc.StatusCode.UNKNOWN) == 1
        spans = await running.spans(2)
        assert {span.status.description for span in spans} == {"UNKNOWN"}

    _run(test)


def test_successful_calls_are_counted_ok_and_spans_carry_status_0() -> None:
    async def test(running: RunningProbe) -> None:
        answer = await running.unary()(RankRequest(user_id="u"), timeout=5)
        assert answer.serving_version == "u"
        streamed = [r.serving_version async for r in running.stream()(RankRequest(user_id="s"))]
        assert streamed == ["s-0", "s-1", "s-2"]
        await running.spans(2)
        assert running.count("Unary", grpc.StatusCode.OK) == 1
        assert running.count("Stream", grpc.StatusCode.OK) == 1
        latency = running.metrics.registry.get_sample_value(
            "recmesh_rpc_latency_seconds_count", {"component": "probe", "method": "Stream"}
        )
        assert latency == 1
        spans = await running.spans(2)
        assert [span.status.status_code for span in spans] == [StatusCode.UNSET] * 2
        assert all(
            span.attributes and span.attributes["rpc.grpc.status_code"] == 0 for span in spans
        )

    _run(test)


@pytest.mark.parametrize("method", ["Unary", "Stream"])
def test_a_body_that_does_not_parse_is_invalid_argument_naming_the_method(method: str) -> None:
    async def test(running: RunningProbe) -> None:
        streaming = method == "Stream"
        call = running.raw(method, streaming=streaming)(UNPARSABLE, timeout=5)
        if streaming:
            _, failed = await _stream_failure(call)
        else:
            failed = await _failure(call)
        assert failed.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert f"/{SERVICE}/{method}: the request body is not a valid protobuf" in (
            failed.details() or ""
        )
        assert running.probe.calls == 0
        await running.spans(1)
        assert running.count(method, grpc.StatusCode.INVALID_ARGUMENT) == 1

    _run(test)


def test_a_client_stream_with_a_body_that_does_not_parse_is_invalid_argument() -> None:
    async def test(running: RunningProbe) -> None:
        answer = await running.client_stream()(
            iter([RankRequest(user_id="a"), RankRequest(user_id="b")]), timeout=5
        )
        assert answer.serving_version == "a+b"
        raw = running.channel.stream_unary(f"/{SERVICE}/ClientStream", None, None)
        failed = await _failure(
            raw(iter([RankRequest(user_id="a").SerializeToString(), UNPARSABLE]))
        )
        assert failed.code() == grpc.StatusCode.INVALID_ARGUMENT
        await running.spans(2)
        assert running.count("ClientStream", grpc.StatusCode.OK) == 1
        assert running.count("ClientStream", grpc.StatusCode.INVALID_ARGUMENT) == 1

    _run(test)


def test_a_stream_sent_with_context_write_is_awaited_and_mapped() -> None:
    """A streaming handler that is a coroutine writing with context.write (not an async
    generator) is awaited: its messages arrive, and its RecmeshError is mapped."""

    async def test(running: RunningProbe) -> None:
        written = [
            r.serving_version async for r in running.stream("Written")(RankRequest(user_id="w"))
        ]
        assert written == ["w-0", "w-1"]
        running.probe.error = RefusedError("written enough")
        received, failed = await _stream_failure(
            running.stream("Written")(RankRequest(user_id="w"))
        )
        assert received == ["w-0", "w-1"]
        assert failed.code() == grpc.StatusCode.FAILED_PRECONDITION
        await running.spans(2)
        assert running.count("Written", grpc.StatusCode.OK) == 1
        assert running.count("Written", grpc.StatusCode.FAILED_PRECONDITION) == 1

    _run(test)


def test_each_call_has_a_server_span_joined_to_the_callers_trace() -> None:
    async def test(running: RunningProbe) -> None:
        caller = TracerProvider().get_tracer("caller")
        with caller.start_as_current_span("caller") as parent:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            await running.unary()(RankRequest(user_id="u"), metadata=tuple(carrier.items()))
            async for _ in running.stream()(
                RankRequest(user_id="u"), metadata=tuple(carrier.items())
            ):
                pass
        spans = await running.spans(2)
        assert [span.name for span in spans] == [f"/{SERVICE}/Unary", f"/{SERVICE}/Stream"]
        parent_context = parent.get_span_context()
        for span in spans:
            assert span.kind is SpanKind.SERVER
            assert span.parent is not None
            assert span.parent.span_id == parent_context.span_id
            assert span.context is not None
            assert span.context.trace_id == parent_context.trace_id
            assert span.attributes is not None
            assert span.attributes["rpc.system"] == "grpc"
            assert span.attributes["rpc.service"] == SERVICE
        assert spans[0].attributes is not None
        assert spans[0].attributes["rpc.method"] == "Unary"

    _run(test)


def test_a_call_without_trace_context_starts_its_own_trace() -> None:
    async def test(running: RunningProbe) -> None:
        await running.unary()(RankRequest(user_id="u"), timeout=5)
        (span,) = await running.spans(1)
        assert span.parent is None

    _run(test)


def test_health_and_reflection_are_neither_traced_nor_counted() -> None:
    async def test(running: RunningProbe) -> None:
        await running.health.set_serving()
        health = health_pb2_grpc.HealthStub(running.channel)
        checked = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5)
        assert checked.status == health_pb2.HealthCheckResponse.SERVING
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=5)
        first = await watch.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        watch.cancel()
        reflection = reflection_pb2_grpc.ServerReflectionStub(running.channel)
        listed = reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
        )
        names = [
            service.name
            async for response in listed
            for service in response.list_services_response.service
        ]
        assert SERVICE in names
        await running.unary()(RankRequest(user_id="u"), timeout=5)
        spans = await running.spans(1)
        assert [span.name for span in spans] == [f"/{SERVICE}/Unary"]
        samples = [
            sample.labels["method"]
            for metric in running.metrics.registry.collect()
            if metric.name == "recmesh_rpc_requests"
            for sample in metric.samples
            if sample.name == "recmesh_rpc_requests_total"
        ]
        assert samples == ["Unary"]

    _run(test)


class PerCallGate(ServerInterceptorBase):
    """Like authentication: decides per call (from the call's metadata) and wraps the
    handler in a new one that raises UnauthenticatedError before the behaviour runs."""

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> MethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or not handler_call_details.method.startswith(f"/{SERVICE}/"):
            return handler
        metadata = dict(handler_call_details.invocation_metadata or ())
        admitted = metadata.get("pass") == "yes"

        def admit() -> None:
            if not admitted:
                raise UnauthenticatedError("no pass")

        def unary(behavior: Behavior, _requests_stream: bool) -> Behavior:
            async def gated(request: Any, context: Any) -> Any:
                admit()
                return await behavior(request, context)

            return gated

        def stream(behavior: Behavior, _requests_stream: bool) -> Behavior:
            async def gated(request: Any, context: Any) -> Any:
                admit()
                async for item in behavior(request, context):
                    yield item

            return gated

        return rewrap(handler, unary=unary, stream=stream)


def test_errors_of_an_inner_per_call_interceptor_are_mapped_call_by_call() -> None:
    """An inner interceptor that wraps each call anew (as authentication does) is
    re-wrapped per call: its errors map to their status, and a refused call does not
    decide the next one (nor an admitted one the next refusal)."""

    async def test(running: RunningProbe) -> None:
        refused = (("pass", "no"),)
        admitted = (("pass", "yes"),)
        for metadata, code in [
            (refused, grpc.StatusCode.UNAUTHENTICATED),
            (admitted, grpc.StatusCode.OK),
            (refused, grpc.StatusCode.UNAUTHENTICATED),
            (admitted, grpc.StatusCode.OK),
        ]:
            call = running.unary()(RankRequest(user_id="u"), metadata=metadata, timeout=5)
            if code is grpc.StatusCode.OK:
                assert (await call).serving_version == "u"
            else:
                failed = await _failure(call)
                assert failed.code() == code
                assert failed.details() == "no pass"
        received, failed = await _stream_failure(
            running.stream()(RankRequest(user_id="u"), metadata=refused)
        )
        assert received == []
        assert failed.code() == grpc.StatusCode.UNAUTHENTICATED
        await running.spans(5)
        assert running.count("Unary", grpc.StatusCode.UNAUTHENTICATED) == 2
        assert running.count("Unary", grpc.StatusCode.OK) == 2
        assert running.count("Stream", grpc.StatusCode.UNAUTHENTICATED) == 1
        assert running.probe.calls == 2

    _run(test, extra=lambda: [PerCallGate()])
