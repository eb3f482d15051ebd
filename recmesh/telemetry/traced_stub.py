"""Client stubs whose unary calls carry the trace and are recorded on the caller's span.

grpc.aio client interceptors wrap every call in an extra task and call object; on
the serving hot path that machinery cost more than the span itself. A traced
stub replaces each unary-unary method of a generated stub with a coroutine that
injects the trace context into the call metadata with the configured propagator
(W3C traceparent by default), awaits the call, and records it.

Inside a request the call is recorded as an event on the caller's current span
(its SERVER span, or the span of a coalesced batch): the event is named after the
method, stamped with the call's start, and carries its duration and gRPC status;
the callee's SERVER span is the caller's span's child. A CLIENT span per call would
tell nothing more (its timing is the event's) and cost a span's creation, context
switch, processing and export on every hop. A call made outside any span (a probe,
a tool) opens a CLIENT span of its own, so it still starts a trace; a call that
outlives its caller's span (the request gave up while a coalesced call ran on) is
recorded as a CLIENT span under it when it ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, TracerProvider

StubT = TypeVar("StubT")

#: The attributes of a call event (and of a CLIENT span's status).
STATUS_CODE = "rpc.grpc.status_code"
DURATION_MS = "recmesh.call_ms"
ERROR = "recmesh.call_error"


class TracedUnaryMethod:
    """One unary-unary method of a stub: an event on the current span, or a CLIENT span."""

    def __init__(self, call: Any, full_name: str, tracer: Tracer) -> None:
        self._call = call
        self._full_name = full_name
        self._tracer = tracer
        service, _, method = full_name.lstrip("/").rpartition("/")
        self._attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}

    async def __call__(
        self,
        request: Any,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the gRPC deadline of the call
        metadata: tuple[tuple[str, str], ...] = (),
    ) -> Any:
        caller = trace.get_current_span()
        if not caller.is_recording():
            return await self._in_client_span(request, timeout, metadata)
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        start_ns = time.time_ns()
        code = grpc.StatusCode.UNKNOWN
        details = ""
        try:
            response = await self._call(
                request, timeout=timeout, metadata=(*metadata, *carrier.items())
            )
            code = grpc.StatusCode.OK
            return response
        except grpc.aio.AioRpcError as exc:
            code, details = exc.code(), exc.details() or ""
            raise
        except asyncio.CancelledError:
            code, details = grpc.StatusCode.CANCELLED, "cancelled by the caller"
            raise
        finally:
            attributes: dict[str, str | int | float] = {
                STATUS_CODE: code.value[0],
                DURATION_MS: (time.time_ns() - start_ns) / 1e6,
            }
            if code != grpc.StatusCode.OK:
                attributes[ERROR] = f"{code.name}: {details}"
            if caller.is_recording():
                caller.add_event(self._full_name, attributes, timestamp=start_ns)
            else:
                self._outlived(caller, start_ns, attributes)

    def _outlived(
        self, caller: trace.Span, start_ns: int, attributes: dict[str, str | int | float]
    ) -> None:
        """The caller's span ended while the call ran on (its request was cancelled or
        ran out of time, and a coalesced call finished later): the call is recorded as
        a CLIENT span under it, from the call's start, since an ended span takes no
        event."""
        span = self._tracer.start_span(
            self._full_name,
            context=trace.set_span_in_context(caller),
            kind=SpanKind.CLIENT,
            attributes={**self._attributes, **attributes},
            start_time=start_ns,
        )
        error = attributes.get(ERROR)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, str(error)))
        span.end()

    async def _in_client_span(
        self,
        request: Any,
        timeout: float | None,  # noqa: ASYNC109 - the gRPC deadline of the call
        metadata: tuple[tuple[str, str], ...],
    ) -> Any:
        with self._tracer.start_as_current_span(
            self._full_name,
            kind=SpanKind.CLIENT,
            attributes=self._attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            try:
                response = await self._call(
                    request, timeout=timeout, metadata=(*metadata, *carrier.items())
                )
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                span.set_attribute(STATUS_CODE, code.value[0])
                span.set_status(Status(StatusCode.ERROR, f"{code.name}: {exc.details()}"))
                raise
            span.set_attribute(STATUS_CODE, 0)
            return response


def traced_stub(
    stub_class: Callable[[grpc.aio.Channel], StubT],
    channel: grpc.aio.Channel,
    service: ServiceDescriptor,
    tracer_provider: TracerProvider,
) -> StubT:
    """A generated stub on `channel` whose unary-unary methods are traced."""
    stub = stub_class(channel)
    tracer = tracer_provider.get_tracer("recmesh.rpc.client")
    for method in service.methods:
        if method.client_streaming or method.server_streaming:
            continue
        full_name = f"/{service.full_name}/{method.name}"
        setattr(stub, method.name, TracedUnaryMethod(getattr(stub, method.name), full_name, tracer))
    return stub
