"""Type names for server interceptors that also work at run time.

grpc-stubs makes `RpcMethodHandler` and `aio.ServerInterceptor` generic for the
type checker, but the real classes cannot be subscripted; these aliases give
mypy the generic form and the interpreter the plain class.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc

if TYPE_CHECKING:
    MethodHandler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    ServerInterceptorBase: TypeAlias = grpc.aio.ServerInterceptor[Any, Any]
else:
    MethodHandler = grpc.RpcMethodHandler
    ServerInterceptorBase = grpc.aio.ServerInterceptor

Continuation: TypeAlias = Callable[[grpc.HandlerCallDetails], Awaitable[MethodHandler]]
