"""Request bodies that do not parse, answered INVALID_ARGUMENT instead of UNKNOWN.

grpc calls a method's request deserializer before any handler code runs, and an
exception there becomes UNKNOWN ("Unexpected DecodeError"). A tolerant
deserializer hands the handler a MalformedRequest instead, which the
instrumented handler turns into INVALID_ARGUMENT naming the expected message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recmesh.rpc.errors import InvalidArgumentError


class MalformedRequest:
    """Stands in for a request message whose bytes did not parse."""

    __slots__ = ("method", "reason")

    def __init__(self, method: str, reason: str) -> None:
        self.method = method
        self.reason = reason

    def error(self) -> InvalidArgumentError:
        return InvalidArgumentError(
            f"{self.method}: the request body is not a valid protobuf message for this "
            f"method ({self.reason}); send the method's request message"
        )


def tolerant_deserializer(
    deserializer: Callable[[bytes], Any] | None, method: str
) -> Callable[[bytes], Any] | None:
    """Wraps `deserializer` so a parse failure yields a MalformedRequest."""
    if deserializer is None:
        return None
    parse = deserializer

    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except Exception as exc:  # protobuf raises DecodeError, but also others on junk
            return MalformedRequest(method, f"{type(exc).__name__}: {exc}")

    return deserialize
