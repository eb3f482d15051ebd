"""rewrap: the same kind of handler around the wrapped behaviour, (de)serializers kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from recmesh.server.handlers import Behavior, rewrap
from recmesh.server.interceptor_types import MethodHandler


def _parse(data: bytes) -> str:
    return data.decode()


def _write(message: str) -> bytes:
    return message.encode()


async def _behavior(request: Any, context: Any) -> Any:
    return request


KINDS: dict[str, tuple[Callable[..., MethodHandler], bool, bool]] = {
    # attribute: (factory, requests stream, responses stream)
    "unary_unary": (grpc.unary_unary_rpc_method_handler, False, False),
    "unary_stream": (grpc.unary_stream_rpc_method_handler, False, True),
    "stream_unary": (grpc.stream_unary_rpc_method_handler, True, False),
    "stream_stream": (grpc.stream_stream_rpc_method_handler, True, True),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_rebuilt_as_itself_around_the_right_wrapper(kind: str) -> None:
    factory, requests_stream, responses_stream = KINDS[kind]
    handler = factory(_behavior, _parse, _write)
    seen: list[tuple[str, Behavior, bool]] = []

    def wrapper(name: str) -> Callable[[Behavior, bool], Behavior]:
        def wrap(behavior: Behavior, streamed_requests: bool) -> Behavior:
            seen.append((name, behavior, streamed_requests))

            async def wrapped(request: Any, context: Any) -> Any:
                return await behavior(request, context)

            return wrapped

        return wrap

    rebuilt = rewrap(handler, unary=wrapper("unary"), stream=wrapper("stream"))
    assert seen == [("stream" if responses_stream else "unary", _behavior, requests_stream)]
    assert rebuilt.request_streaming is requests_stream
    assert rebuilt.response_streaming is responses_stream
    assert getattr(rebuilt, kind) is not None
    assert getattr(rebuilt, kind) is not _behavior
    assert [name for name in KINDS if getattr(rebuilt, name) is not None] == [kind]
    assert rebuilt.request_deserializer is _parse
    assert rebuilt.response_serializer is _write


def test_a_given_request_deserializer_replaces_the_handlers() -> None:
    def tolerant(data: bytes) -> str:
        return data.decode(errors="replace")

    handler = grpc.unary_unary_rpc_method_handler(_behavior, _parse, _write)
    rebuilt = rewrap(
        handler, unary=lambda b, _: b, stream=lambda b, _: b, request_deserializer=tolerant
    )
    assert rebuilt.request_deserializer is tolerant
    assert rebuilt.response_serializer is _write
