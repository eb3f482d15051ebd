"""One server interceptor for every call: trace, measure, map errors, refuse bad bodies.

Tracing (an OpenTelemetry SERVER span joined to the caller's trace from the call
metadata), metrics (count by status code, latency histogram) and error mapping
(RecmeshError -> the status it carries) used to be three interceptors, plus
OpenTelemetry's own. On the serving hot path each layer costs a coroutine, a
handler object and a wrapper per call, so they are done here in one wrapper,
built once per method and reused.

A request body that does not parse as the method's request message is answered
INVALID_ARGUMENT naming the message type (grpc would otherwise answer UNKNOWN).

Health checks and reflection are neither traced nor counted.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from recmesh.rpc.errors import RecmeshError
from recmesh.rpc.request_bodies import MalformedRequest, tolerant_deserializer
from recmesh.server.handlers import Behavior, rewrap
from recmesh.server.interceptor_types import Continuation, MethodHandler, ServerInterceptorBase
from recmesh.telemetry.metrics import MethodMetrics, ServerMetrics

log = structlog.get_logger("recmesh.rpc")

_UNINSTRUMENTED_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


@dataclass(frozen=True)
class _Method:
    """What the wrapper needs to know about one method, computed once."""

    full_name: str
    tracer: trace.Tracer
    attributes: dict[str, str]
    metrics: MethodMetrics | None


class InstrumentedCalls:
    """Runs one call of a method: span, metrics, error mapping, body check."""

    def __init__(self, method: _Method) -> None:
        self._method = method

    def _start_span(self, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        carrier = {key: value for key, value in context.invocation_metadata() or ()}
        return self._method.tracer.start_as_current_span(
            self._method.full_name,
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes=self._method.attributes,
            record_exception=False,
            set_status_on_exception=False,
        )

    def unary(self, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        start_span = self._start_span
        method = self._method

        async def handler(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            with start_span(context) as span:
                async with _Outcome(method, span, context):
                    if type(request) is MalformedRequest:
                        raise request.error()
                    return await behavior(request, context)

        return handler

    def stream(self, behavior: Callable[..., Any], streams_responses: bool) -> Callable[..., Any]:
        """Streaming calls: one span around the whole stream, counted when they end."""
        if not streams_responses:
            return self.unary(behavior)
        start_span = self._start_span
        method = self._method

        async def handler(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            with start_span(context) as span:
                async with _Outcome(method, span, context):
                    if type(request) is MalformedRequest:
                        raise request.error()
                    async for item in behavior(request, context):
                        yield item

        return handler


class _Outcome:
    """Around one call: maps RecmeshError to its status, records the status on the span
    and the call in the method's metrics."""

    __slots__ = ("_context", "_method", "_span", "_started")

    def __init__(
        self, method: _Method, span: trace.Span, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        self._method = method
        self._span = span
        self._context = context
        self._started = time.perf_counter()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _: Any
    ) -> None:
        code = grpc.StatusCode.OK
        try:
            if isinstance(exc, RecmeshError):
                code = exc.code
                log.info(
                    "rpc_error", method=self._method.full_name, code=code.name, message=str(exc)
                )
                _end_span(self._span, code, str(exc))
                await self._context.abort(code, str(exc), exc.trailing_metadata())
            elif exc is not None:
                code = _status_of(self._context)
                _end_span(self._span, code, "")
            else:
                self._span.set_attribute("rpc.grpc.status_code", 0)
        finally:
            if self._method.metrics is not None:
                self._method.metrics.observe(code, time.perf_counter() - self._started)


def _end_span(span: trace.Span, code: grpc.StatusCode, message: str) -> None:
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code is not grpc.StatusCode.OK:
        description = f"{code.name}: {message}" if message else code.name
        span.set_status(Status(StatusCode.ERROR, description))


def _status_of(context: grpc.aio.ServicerContext[Any, Any]) -> grpc.StatusCode:
    """The status a handler set (context.abort or set_code) before raising; UNKNOWN
    for an exception that escaped without one, CANCELLED when the caller went away."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    if context.cancelled():
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN


class InstrumentingInterceptor(ServerInterceptorBase):
    """The outermost (or only) interceptor of a server. Wrapped handlers are cached per
    method while the inner chain keeps returning the same handler object (inner
    interceptors that decide per call, like authentication, are wrapped per call)."""

    def __init__(self, tracer_provider: TracerProvider, metrics: ServerMetrics | None) -> None:
        self._tracer = tracer_provider.get_tracer("recmesh.rpc.server")
        self._metrics = metrics
        self._wrapped: dict[str, tuple[MethodHandler, MethodHandler]] = {}

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> MethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_UNINSTRUMENTED_PREFIXES):
            return handler
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(method, handler)
        if cached is None:
            self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, full_name: str, handler: MethodHandler) -> MethodHandler:
        service, _, name = full_name.lstrip("/").rpartition("/")
        calls = InstrumentedCalls(
            _Method(
                full_name=full_name,
                tracer=self._tracer,
                attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
                metrics=self._metrics.method(name) if self._metrics is not None else None,
            )
        )

        def unary(behavior: Behavior, requests_stream: bool) -> Behavior:
            return calls.unary(_checked_requests(behavior) if requests_stream else behavior)

        def stream(behavior: Behavior, requests_stream: bool) -> Behavior:
            checked = _checked_requests(behavior) if requests_stream else behavior
            return calls.stream(checked, streams_responses=_is_async_gen(behavior))

        return rewrap(
            handler,
            unary=unary,
            stream=stream,
            request_deserializer=tolerant_deserializer(handler.request_deserializer, full_name),
        )


def _is_async_gen(behavior: Callable[..., Any]) -> bool:
    return inspect.isasyncgenfunction(behavior)


def _checked_requests(behavior: Callable[..., Any]) -> Callable[..., Any]:
    """For client-streaming methods: a request message that does not parse ends the call
    with INVALID_ARGUMENT when the handler reaches it."""
    if _is_async_gen(behavior):

        async def streaming(requests: Any, context: Any) -> AsyncIterator[Any]:
            async for item in behavior(_checked(requests), context):
                yield item

        return streaming

    async def unary(requests: Any, context: Any) -> Any:
        return await behavior(_checked(requests), context)

    return unary


async def _checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        if type(request) is MalformedRequest:
            raise request.error()
        yield request
