"""The fields a rollout adds to an impression record (offline/shadow/records.py reads them).

A staged rollout's answer says which arm answered and in which stage:

    {"arm": "champion" | "challenger", "rollout": "staged", "rollout_id": "r-1", "stage": 1}

plus `"waiting": true` when a user of the stage share was answered by the champion
because the challenger was not loaded yet, or `"warming_up": true` when the front
had held the challenger for less than its warm-up (services/recommend/arms.py);
neither is counted for either arm.

A shadowed request leaves two records with the same request_id, the champion's
answer and the challenger's list, each saying how long its arm took to rank and
whether it failed (a failed or degraded challenger has no items):

    {"arm": "champion" | "challenger", "rollout": "shadow", "rollout_id": "r-1",
     "latency_ms": 12.5, "error": false}
"""

from __future__ import annotations

from typing import Any

from recmesh.api.controlplane.v1 import records_pb2
from services.recommend.arms import SHADOW, STAGED


def staged_marks(
    rollout: records_pb2.Rollout, arm: str, waiting: bool, counted: bool
) -> dict[str, Any]:
    marks: dict[str, Any] = {
        "arm": arm,
        "rollout": STAGED,
        "rollout_id": rollout.rollout_id,
        "stage": int(rollout.stage),
    }
    if waiting:
        marks["waiting"] = True
    elif not counted:
        marks["warming_up"] = True
    return marks


def shadow_marks(
    rollout: records_pb2.Rollout, arm: str, latency_ms: float, error: bool
) -> dict[str, Any]:
    return {
        "arm": arm,
        "rollout": SHADOW,
        "rollout_id": rollout.rollout_id,
        "latency_ms": round(latency_ms, 3),
        "error": error,
    }
