"""The one re-wrap of a method handler: the same kind of handler (unary or streaming
requests and responses) around a wrapped behaviour, with the same (de)serializers.

Interceptors that act around every call (instrumentation, authentication) build their
handler with `rewrap`: `unary` wraps behaviours that answer one message (unary-unary,
stream-unary), `stream` those that answer a stream (unary-stream, stream-stream). Each
wrapper is told whether the behaviour's requests arrive as a stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from recmesh.server.interceptor_types import MethodHandler

# grpc-stubs types behaviours for the sync API; aio behaviours are coroutines or async
# generators, so they are typed loosely here and called as what they are.
Behavior = Callable[..., Any]
Wrapper = Callable[[Behavior, bool], Behavior]
"""(behavior, requests_stream) -> the behavior to register instead."""
Deserializer = Callable[[bytes], Any] | None


def rewrap(
    handler: MethodHandler,
    *,
    unary: Wrapper,
    stream: Wrapper,
    request_deserializer: Deserializer = None,
) -> MethodHandler:
    """A handler of handler's kind running the wrapped behaviour; its request
    deserializer is `request_deserializer` when given, else handler's own, and its
    response serializer handler's. A handler of no known kind is returned as it is."""
    deserializer = request_deserializer or handler.request_deserializer
    serializer = handler.response_serializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            unary(handler.unary_unary, False), deserializer, serializer
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            stream(handler.unary_stream, False), deserializer, serializer
        )
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            unary(handler.stream_unary, True), deserializer, serializer
        )
    if handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(
            stream(handler.stream_stream, True), deserializer, serializer
        )
    return handler
