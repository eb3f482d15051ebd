"""Records as stored values: deterministic proto JSON (sorted keys, no whitespace)."""

from __future__ import annotations

from typing import TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from control_plane.store.errors import CorruptRecordError
from control_plane.store.kv_types import StoredValue

M = TypeVar("M", bound=Message)


def encode(message: Message) -> bytes:
    return json_format.MessageToJson(message, sort_keys=True, indent=None).encode()


def decode(stored: StoredValue, message_type: type[M]) -> M:
    """Parses a stored value; CorruptRecordError names the key when it is not a record."""
    message = message_type()
    try:
        json_format.Parse(stored.value, message)
    except json_format.ParseError as exc:
        raise CorruptRecordError(
            f"{stored.key} does not hold a {message_type.DESCRIPTOR.name}: {exc}"
        ) from exc
    return message
