"""How CLI commands print: aligned tables for people, one JSON object for scripts.

JSON objects use the proto field names; 64-bit integers follow the proto3
JSON mapping (strings), except where a command builds its object explicitly
(the pointer's revision is a number).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp


def print_json(value: Any) -> None:
    print(json.dumps(value, sort_keys=True))


def message_dict(message: Message) -> dict[str, Any]:
    result: dict[str, Any] = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return result


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for line in (headers, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def when(stamp: Timestamp) -> str:
    """A timestamp as RFC 3339 to the second, or '-' when unset."""
    if not stamp.seconds and not stamp.nanos:
        return "-"
    return stamp.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ")


def enum_word(name: str, prefix: str) -> str:
    """EXPERIMENT_STATE_PASSED -> passed."""
    return name.removeprefix(prefix).lower()
