"""The control plane's notion of now, injected so tests can fix it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(clock: Clock) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(clock())
    return stamp
