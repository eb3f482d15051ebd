"""Authenticates every call of one service and checks the caller's roles against RPC_ROLES.

It must sit inside the error-mapping interceptor: it raises Unauthenticated-
and PermissionDeniedError like any handler, and the mapping translates them.
Calls to other services on the same server (health, reflection) pass unchecked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import grpc
import structlog

from control_plane.auth.authenticators import Authenticator
from control_plane.auth.roles import RPC_ROLES, Principal, Role
from recmesh.rpc.errors import PermissionDeniedError

# grpc-stubs makes these generic for type checking only; at run time they are plain classes.
if TYPE_CHECKING:
    _Handler = grpc.RpcMethodHandler[Any, Any]
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Handler = grpc.RpcMethodHandler
    _ServerInterceptor = grpc.aio.ServerInterceptor

Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[_Handler]]
Admit = Callable[[grpc.aio.ServicerContext[Any, Any]], Principal]


class AuthInterceptor(_ServerInterceptor):
    def __init__(
        self,
        authenticator: Authenticator,
        service_full_name: str,
        rpc_roles: Mapping[str, frozenset[Role]] = RPC_ROLES,
    ) -> None:
        self._authenticator = authenticator
        self._service = service_full_name
        self._rpc_roles = rpc_roles

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> _Handler:
        handler = await continuation(handler_call_details)
        service, _, rpc = handler_call_details.method.lstrip("/").partition("/")
        if handler is None or service != self._service:
            return handler
        allowed = self._rpc_roles.get(rpc, frozenset())

        def admit(context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
            principal = self._authenticator.authenticate(context)
            if not principal.roles & allowed:
                held = ", ".join(sorted(principal.roles)) or "none"
                needed = ", ".join(sorted(allowed)) or "nobody"
                raise PermissionDeniedError(
                    f"{principal.name} (roles: {held}) may not call {rpc}; it needs one of: "
                    f"{needed}"
                )
            return principal

        return _wrap(handler, admit)


def _wrap(handler: _Handler, admit: Admit) -> _Handler:
    serializers = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            _unary(handler.unary_unary, admit), **serializers
        )
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            _unary(handler.stream_unary, admit), **serializers
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _stream(handler.unary_stream, admit), **serializers
        )
    if handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(
            _stream(handler.stream_stream, admit), **serializers
        )
    return handler


# grpc-stubs types behaviours for the sync API; aio behaviours are coroutines or
# async generators, so they are typed loosely and called as what they are.
def _unary(behavior: Callable[..., Any], admit: Admit) -> Callable[..., Awaitable[Any]]:
    async def handler(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        principal = admit(context)
        with structlog.contextvars.bound_contextvars(principal=principal.name):
            return await behavior(request, context)

    return handler


def _stream(behavior: Callable[..., Any], admit: Admit) -> Callable[..., AsyncIterator[Any]]:
    async def handler(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        principal = admit(context)
        with structlog.contextvars.bound_contextvars(principal=principal.name):
            async for item in behavior(request, context):
                yield item

    return handler
