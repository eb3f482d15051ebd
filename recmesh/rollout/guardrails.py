"""Live guardrails of a stage: the plan recorded before it starts, and each look's verdict.

Every guardrail compares the challenger arm with the concurrent champion arm, never
with a fixed number alone, through a rate per arm:

- `error_rate`, `degraded_rate` (kind RATE): the share of an arm's requests that
  failed, or were answered degraded.
- `latency_p99` (kind LATENCY_EXCEEDANCE): the share of an arm's requests slower than
  `threshold_ms`, a latency fixed in the plan before the stage (the champion's p99
  measured before it, rounded to a bucket edge of the latency histogram, whose
  cumulative counts then give the exceedances). A quantile is compared through its
  exceedance rate: the challenger's p99 is at most tau exactly when its share above
  tau is at most 1 %. Fixing tau in advance keeps each arm's exceedances independent
  Bernoulli draws, which a running p99 of the champion would not (it moves with the
  very data it is compared with), and comparing the two arms' shares above the same
  tau keeps the test about the challenger: a load spike that slows both arms moves
  both shares alike.

A guardrail is BREACHED when the anytime-valid lower bound on challenger rate -
champion rate (`recmesh.rollout.sequential`, method `MIXTURE_CS`) exceeds the plan's
margin: if the challenger is in truth within the margin, that happens at any look with
probability at most alpha, however often the stage is looked at. Otherwise it is
HOLDING; NOT_ENOUGH_DATA while either arm has fewer requests than the plan's minimum
(the stage may not advance on it, and is not rolled back on it). Each guardrail spends
its own alpha: a stage with several guardrails falsely rolls back with probability at
most the sum of their alphas.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from recmesh.rollout.sequential import difference_lower_bound

#: The one method this module implements; recorded in each plan so a later method
#: cannot silently reinterpret an old stage's guardrails.
MIXTURE_CS = "bernoulli-mixture-confidence-sequence/v1"
METHODS = frozenset({MIXTURE_CS})


class GuardrailKind(StrEnum):
    """What an arm's events are: failed or degraded requests, or requests slower than
    the plan's threshold."""

    RATE = "rate"
    LATENCY_EXCEEDANCE = "latency_exceedance"


class GuardrailStatus(StrEnum):
    """A look's verdict on one guardrail."""

    HOLDING = "HOLDING"
    BREACHED = "BREACHED"
    NOT_ENOUGH_DATA = "NOT_ENOUGH_DATA"


@dataclass(frozen=True)
class GuardrailPlan:
    """One live guardrail as recorded before its stage starts.

    `margin` is the largest tolerated excess of the challenger's rate over the
    champion's, in absolute rate (0.005: half a percentage point); `threshold_ms` is
    set for LATENCY_EXCEEDANCE and only then.
    """

    name: str
    kind: GuardrailKind
    alpha: float
    margin: float
    min_samples_per_arm: int
    method: str = MIXTURE_CS
    threshold_ms: float | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a guardrail needs a name")
        if self.method not in METHODS:
            raise ValueError(f"guardrail {self.name}: unknown method {self.method!r}")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"guardrail {self.name}: alpha must lie in (0, 1), not {self.alpha}")
        if not 0.0 <= self.margin < 1.0:
            raise ValueError(f"guardrail {self.name}: margin must lie in [0, 1), not {self.margin}")
        if self.min_samples_per_arm < 1:
            raise ValueError(f"guardrail {self.name}: min_samples_per_arm must be at least 1")
        latency = self.kind is GuardrailKind.LATENCY_EXCEEDANCE
        if latency != (self.threshold_ms is not None):
            raise ValueError(
                f"guardrail {self.name}: threshold_ms is required for a latency guardrail"
                " and refused for a rate"
            )
        if self.threshold_ms is not None and not (
            math.isfinite(self.threshold_ms) and self.threshold_ms > 0
        ):
            raise ValueError(f"guardrail {self.name}: threshold_ms must be positive")

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["kind"] = self.kind.value
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> GuardrailPlan:
        threshold = record.get("threshold_ms")
        return cls(
            name=str(record["name"]),
            kind=GuardrailKind(record["kind"]),
            alpha=float(record["alpha"]),
            margin=float(record["margin"]),
            min_samples_per_arm=int(record["min_samples_per_arm"]),
            method=str(record["method"]),
            threshold_ms=None if threshold is None else float(threshold),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GuardrailPlan:
        record = json.loads(text)
        if not isinstance(record, dict):
            raise ValueError("a guardrail plan is a JSON object")
        return cls.from_dict(record)


@dataclass(frozen=True)
class ArmCounts:
    """One arm's cumulative counts since the stage started: requests, and those that
    count as events (failed, degraded, or slower than the threshold)."""

    requests: int
    events: int

    def __post_init__(self) -> None:
        if not 0 <= self.events <= self.requests:
            raise ValueError(f"events ({self.events}) must lie in [0, requests={self.requests}]")

    @property
    def rate(self) -> float:
        return self.events / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class GuardrailEvaluation:
    """One look at one guardrail: the verdict, the counts it read, the bound it computed
    (None when there was not enough data), and a sentence naming the figures."""

    plan: GuardrailPlan
    status: GuardrailStatus
    challenger: ArmCounts
    champion: ArmCounts
    difference_lower_bound: float | None
    message: str


def evaluate_guardrail(
    plan: GuardrailPlan, challenger: ArmCounts, champion: ArmCounts
) -> GuardrailEvaluation:
    """The guardrail's status at this look, from both arms' cumulative counts."""
    arms = (
        f"challenger {_percent(challenger.rate)} ({challenger.events}/{challenger.requests})"
        f" vs champion {_percent(champion.rate)} ({champion.events}/{champion.requests})"
    )
    what = _what(plan)
    if min(challenger.requests, champion.requests) < plan.min_samples_per_arm:
        return GuardrailEvaluation(
            plan,
            GuardrailStatus.NOT_ENOUGH_DATA,
            challenger,
            champion,
            None,
            f"{plan.name}: not enough data, {arms}; each arm needs at least"
            f" {plan.min_samples_per_arm} requests",
        )
    bound = float(
        difference_lower_bound(
            challenger.events, challenger.requests, champion.events, champion.requests, plan.alpha
        )
    )
    breached = bound > plan.margin
    verdict = "exceeds" if breached else "is within"
    return GuardrailEvaluation(
        plan,
        GuardrailStatus.BREACHED if breached else GuardrailStatus.HOLDING,
        challenger,
        champion,
        bound,
        f"{plan.name} {'breached' if breached else 'holding'}: {what} {arms};"
        f" the anytime {_percent(1.0 - plan.alpha)} lower bound on the difference,"
        f" {_points(bound)}, {verdict} the margin {_points(plan.margin)}"
        f" ({plan.method}, alpha {plan.alpha:g})",
    )


def _what(plan: GuardrailPlan) -> str:
    if plan.kind is GuardrailKind.LATENCY_EXCEEDANCE:
        return f"share of requests slower than {plan.threshold_ms:g} ms,"
    return "rate,"


def _percent(value: float) -> str:
    return f"{100.0 * value:.2f} %"


def _points(value: float) -> str:
    return f"{100.0 * value:+.2f} pp"
