"""Each front's counts per arm in a stage: what the front writes, what the control plane sums.

A front serving a staged rollout counts, per arm, since the stage started: requests,
failed requests, degraded answers, requests slower than the rollout's latency
threshold, and distinct users. About once a second it writes its cumulative counts
to `KeySchema.rollout_arm_counts(rollout_id, stage, front_id)` as one JSON object:

    {"format": 1, "front": "f-3a9c", "rollout_id": "r-1", "stage": 0, "at": 1700000000.5,
     "arms": {"champion": {"requests": 950, "errors": 0, "degraded": 3, "slow": 9,
                           "users": 402},
              "challenger": {"requests": 50, "errors": 1, "degraded": 0, "slow": 2,
                             "users": 21}}}

Counts only grow, so a late or repeated write never lowers a sum. A restarted front
writes under a new front id; its predecessor's key stays and is summed with it. The
control plane sums every front's counts of the stage (`sum_counts`). Distinct users
are distinct per front: a user answered by two fronts counts twice, in either arm
alike.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT = 1
CHAMPION = "champion"
CHALLENGER = "challenger"
ARMS = (CHAMPION, CHALLENGER)


class ArmCountsError(ValueError):
    """A stored counts value that is not one front's counts; says what is wrong."""


@dataclass
class ArmTally:
    """One arm's cumulative counts."""

    requests: int = 0
    errors: int = 0
    degraded: int = 0
    slow: int = 0
    users: int = 0

    def plus(self, other: ArmTally) -> ArmTally:
        return ArmTally(
            self.requests + other.requests,
            self.errors + other.errors,
            self.degraded + other.degraded,
            self.slow + other.slow,
            self.users + other.users,
        )


@dataclass
class FrontCounts:
    """One front's counts of one stage."""

    front: str
    rollout_id: str
    stage: int
    at: float
    arms: dict[str, ArmTally] = field(
        default_factory=lambda: {CHAMPION: ArmTally(), CHALLENGER: ArmTally()}
    )

    def encode(self) -> bytes:
        body = {
            "format": FORMAT,
            "front": self.front,
            "rollout_id": self.rollout_id,
            "stage": self.stage,
            "at": self.at,
            "arms": {arm: asdict(self.arms[arm]) for arm in ARMS},
        }
        return json.dumps(body, sort_keys=True).encode()

    @classmethod
    def decode(cls, raw: bytes) -> FrontCounts:
        try:
            body = json.loads(raw)
            if not isinstance(body, dict) or body.get("format") != FORMAT:
                raise ArmCountsError(f"format {body.get('format')!r}, expected {FORMAT}")
            arms = {arm: _tally(body["arms"][arm]) for arm in ARMS}
            return cls(
                front=str(body["front"]),
                rollout_id=str(body["rollout_id"]),
                stage=int(body["stage"]),
                at=float(body["at"]),
                arms=arms,
            )
        except ArmCountsError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ArmCountsError(f"not a front's arm counts: {exc}") from exc


def _tally(record: Any) -> ArmTally:
    if not isinstance(record, dict):
        raise ArmCountsError("an arm's counts are a JSON object")
    values = {}
    for name in ("requests", "errors", "degraded", "slow", "users"):
        value = record.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ArmCountsError(f"{name} must be a count, got {value!r}")
        values[name] = value
    tally = ArmTally(**values)
    if max(tally.errors, tally.degraded, tally.slow, tally.users) > tally.requests:
        raise ArmCountsError(f"an arm's events exceed its requests: {tally}")
    return tally


def sum_counts(counts: list[FrontCounts]) -> dict[str, ArmTally]:
    """Every front's counts added per arm."""
    total = {CHAMPION: ArmTally(), CHALLENGER: ArmTally()}
    for front in counts:
        for arm in ARMS:
            total[arm] = total[arm].plus(front.arms[arm])
    return total
