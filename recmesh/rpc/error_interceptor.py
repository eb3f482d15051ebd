"""Translates RecmeshError raised by a handler into the gRPC status it carries."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import structlog

from recmesh.rpc.errors import RecmeshError
from recmesh.rpc.interceptor_types import Continuation, MethodHandler, ServerInterceptorBase

log = structlog.get_logger("recmesh.rpc")


# grpc-stubs types handlers for the sync API; aio handlers are coroutines, so the
# behaviours are typed loosely here and called as what they are.
def _wrap_unary(behavior: Callable[..., Any], method: str) -> Callable[..., Awaitable[Any]]:
    async def handler(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await behavior(request, context)
        except RecmeshError as exc:
            log.info("rpc_error", method=method, code=exc.code.name, message=str(exc))
            await context.abort(exc.code, str(exc), exc.trailing_metadata())

    return handler


def _wrap_stream(
    behavior: Callable[..., Any], method: str
) -> Callable[..., AsyncIterator[Any]] | Callable[..., Awaitable[Any]]:
    if not inspect.isasyncgenfunction(behavior):
        # A streaming handler may be a coroutine that sends with context.write() (grpc's
        # aio Health.Watch is one): it is awaited, not iterated.
        return _wrap_unary(behavior, method)

    async def handler(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        try:
            async for item in behavior(request, context):
                yield item
        except RecmeshError as exc:
            log.info("rpc_error", method=method, code=exc.code.name, message=str(exc))
            await context.abort(exc.code, str(exc), exc.trailing_metadata())

    return handler


class ErrorMappingInterceptor(ServerInterceptorBase):
    """Maps RecmeshError to context.abort(code, message) for every kind of handler."""

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> MethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:  # unknown method: grpc answers UNIMPLEMENTED
            return handler
        method = handler_call_details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(handler.unary_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                _wrap_unary(handler.stream_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(handler.unary_stream, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                _wrap_stream(handler.stream_stream, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler
