"""Authenticates every call of one service and checks the caller's roles against RPC_ROLES.

It sits inside the instrumenting interceptor (recmesh.server.instrumentation): it
raises Unauthenticated- and PermissionDeniedError from inside the handler it wraps,
like any handler, and the instrumenting interceptor maps them to their status.
Calls to other services on the same server (health, reflection) pass unchecked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import grpc
import structlog

from control_plane.auth.authenticators import Authenticator
from control_plane.auth.roles import RPC_ROLES, Principal, Role
from recmesh.rpc.errors import PermissionDeniedError
from recmesh.server.handlers import Behavior, rewrap
from recmesh.server.interceptor_types import Continuation, MethodHandler, ServerInterceptorBase

Admit = Callable[[grpc.aio.ServicerContext[Any, Any]], Principal]


class AuthInterceptor(ServerInterceptorBase):
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
    ) -> MethodHandler:
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


def _wrap(handler: MethodHandler, admit: Admit) -> MethodHandler:
    """A new handler per call: `admit` is this call's check of this method's roles."""
    return rewrap(
        handler,
        unary=lambda behavior, _requests_stream: _unary(behavior, admit),
        stream=lambda behavior, _requests_stream: _stream(behavior, admit),
    )


# grpc-stubs types behaviours for the sync API; aio behaviours are coroutines or
# async generators, so they are typed loosely and called as what they are.
def _unary(behavior: Behavior, admit: Admit) -> Callable[..., Awaitable[Any]]:
    async def handler(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        principal = admit(context)
        with structlog.contextvars.bound_contextvars(principal=principal.name):
            return await behavior(request, context)

    return handler


def _stream(behavior: Behavior, admit: Admit) -> Callable[..., AsyncIterator[Any]]:
    async def handler(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        principal = admit(context)
        with structlog.contextvars.bound_contextvars(principal=principal.name):
            async for item in behavior(request, context):
                yield item

    return handler
