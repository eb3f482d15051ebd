"""Hand-made shadow records for the shadow tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from offline.shadow.log_reader import pair_impressions
from offline.shadow.records import CHALLENGER, CHAMPION, SHADOW, ArmImpression, ShadowPair


def record(
    request_id: str,
    arm: str,
    items: Sequence[int],
    *,
    user_id: str = "1",
    at: float = 100.0,
    latency_ms: float = 10.0,
    error: bool = False,
) -> dict[str, Any]:
    """One line of the impression log; item i of the list scores 1 - i / 10."""
    return {
        "request_id": request_id,
        "trace_id": "t-" + request_id,
        "at": at,
        "user_id": user_id,
        "k": 10,
        "context": {},
        "items": [
            {"item_id": item, "score": 1.0 - rank / 10.0, "source": "test"}
            for rank, item in enumerate(items)
        ],
        "serving_version": "v-" + arm,
        "degraded": False,
        "degraded_reason": "",
        "rollout": SHADOW,
        "rollout_id": "r-1",
        "arm": arm,
        "latency_ms": latency_ms,
        "error": error,
    }


def pair(
    request_id: str,
    champion: Sequence[int],
    challenger: Sequence[int],
    *,
    user_id: str = "1",
    at: float = 100.0,
    latencies: tuple[float, float] = (10.0, 20.0),
    challenger_error: bool = False,
) -> ShadowPair:
    """The pair of one request; an erring challenger's list is empty."""
    lines = [
        record(request_id, CHAMPION, champion, user_id=user_id, at=at, latency_ms=latencies[0]),
        record(request_id, CHALLENGER, [] if challenger_error else challenger, user_id=user_id,
               at=at, latency_ms=latencies[1], error=challenger_error),
    ]  # fmt: skip
    (paired,) = pair_impressions([ArmImpression.from_record(line) for line in lines]).pairs
    return paired
