"""The shadow impression record: one line of the impression log per arm of a request.

A shadowed request leaves two JSON lines with the same `request_id`: the
champion's impression as `services.recommend.impressions.impression_record`
writes it today, and the challenger's, each with these fields more:

    {"request_id": "r1", "at": 1700000000.5, "user_id": "42", "k": 10,
     "items": [{"item_id": 50, "score": 0.93}, ...],
     "serving_version": "v7",
     "rollout": "shadow",
     "rollout_id": "r-1",
     "arm": "champion" | "challenger",
     "latency_ms": 12.5,      # time the arm took to rank, milliseconds
     "error": false}          # true when the arm failed or degraded (items then empty)

Other fields of the impression (trace_id, context, an item's source, degraded)
may be present and are ignored. Only a line with `"rollout": "shadow"` is a
shadow record: a plain impression has no `arm`, and an impression answered in a
staged rollout carries `"rollout": "staged"` and the arm that answered the user,
with no other arm to pair it with (`is_shadow_record`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

CHAMPION = "champion"
CHALLENGER = "challenger"
ARMS = (CHAMPION, CHALLENGER)
#: The `rollout` field of a shadow record ("staged" marks a staged rollout's answer).
SHADOW = "shadow"


def is_shadow_record(record: dict[str, Any]) -> bool:
    """Whether one decoded log line is an arm of a shadowed request."""
    return record.get("rollout") == SHADOW


class ShadowRecordError(ValueError):
    """A shadow record that lacks a field or holds one of the wrong type; says which."""


@dataclass(frozen=True)
class ShownItem:
    item_id: int
    score: float


@dataclass(frozen=True)
class ArmImpression:
    """What one arm would have shown for one request (see the module docstring)."""

    request_id: str
    arm: str
    at: float
    user_id: str
    items: tuple[ShownItem, ...]
    serving_version: str
    latency_ms: float
    error: bool

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ArmImpression:
        """The impression in one decoded log line; ShadowRecordError if it is malformed."""
        arm = _field(record, "arm", str)
        if arm not in ARMS:
            raise ShadowRecordError(f"arm must be one of {ARMS}, got {arm!r}")
        items = _field(record, "items", list)
        latency = float(_field(record, "latency_ms", (int, float)))
        if not math.isfinite(latency) or latency < 0:
            raise ShadowRecordError(f"latency_ms must be finite and >= 0, got {latency!r}")
        return cls(
            request_id=_field(record, "request_id", str),
            arm=arm,
            at=float(_field(record, "at", (int, float))),
            user_id=_field(record, "user_id", str),
            items=tuple(_item(item) for item in items),
            serving_version=_field(record, "serving_version", str),
            latency_ms=latency,
            error=_field(record, "error", bool),
        )

    def item_ids(self, k: int) -> list[int]:
        """The first `k` item ids, best first."""
        return [item.item_id for item in self.items[:k]]


@dataclass(frozen=True)
class ShadowPair:
    """Both arms' impressions of one request."""

    champion: ArmImpression
    challenger: ArmImpression

    @property
    def request_id(self) -> str:
        return self.champion.request_id

    @property
    def answered(self) -> bool:
        """True when neither arm failed, so their lists can be compared."""
        return not (self.champion.error or self.challenger.error)


def _item(value: object) -> ShownItem:
    if not isinstance(value, dict):
        raise ShadowRecordError(f"an item must be an object, got {value!r}")
    return ShownItem(
        item_id=_field(value, "item_id", int),
        score=float(_field(value, "score", (int, float))),
    )


def _field(record: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in record:
        raise ShadowRecordError(f"missing field {name!r}")
    value = record[name]
    # bool is an int subclass: an int field must not take true/false.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ShadowRecordError(f"field {name!r} has the wrong type: {value!r}")
    return value
