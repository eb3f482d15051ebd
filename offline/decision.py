"""The decision rule: does the challenger beat the champion without breaking a guardrail?

PASS requires both conditions; each one that fails gives one reason:

1. Success: at least one success metric improves, its whole interval on the
   better side of zero (above zero when higher is better, below when lower is).
2. Guardrails: every guardrail metric is non-inferior within its margin, a
   fraction of the champion's value: the worse end of the delta's interval
   must not cross -margin * |champion| (higher is better: ci_low >= that
   bound) or +margin * |champion| (lower is better: ci_high <= that bound).
   Each failed guardrail is its own reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from offline.errors import MissingEstimateError
from offline.stats.bootstrap import DeltaEstimate


class Direction(Enum):
    """Which way a metric gets better."""

    HIGHER_IS_BETTER = "higher"
    LOWER_IS_BETTER = "lower"


class Verdict(Enum):
    PASS = "PASS"
    FAIL = "FAIL"


@dataclass(frozen=True)
class SuccessMetric:
    """A metric whose improvement would justify promoting the challenger."""

    metric: str
    direction: Direction = Direction.HIGHER_IS_BETTER


@dataclass(frozen=True)
class Guardrail:
    """A metric the challenger may not make worse by more than `margin` x |champion|.

    `margin` is a finite fraction >= 0 (0.02 for 2%); ValueError otherwise.
    """

    metric: str
    margin: float
    direction: Direction = Direction.HIGHER_IS_BETTER

    def __post_init__(self) -> None:
        if not (math.isfinite(self.margin) and self.margin >= 0.0):
            raise ValueError(f"guardrail {self.metric}: margin must be >= 0, got {self.margin!r}")


@dataclass(frozen=True)
class DecisionRule:
    """Success metrics (at least one) and guardrails, each metric named at most once per list.

    Raises ValueError without a success metric or with a metric repeated.
    """

    success_metrics: tuple[SuccessMetric, ...]
    guardrails: tuple[Guardrail, ...] = ()

    def __post_init__(self) -> None:
        if not self.success_metrics:
            raise ValueError("a decision rule needs at least one success metric")
        for kind, names in (
            ("success metric", [s.metric for s in self.success_metrics]),
            ("guardrail", [g.metric for g in self.guardrails]),
        ):
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise ValueError(f"{kind} named more than once: {', '.join(repeated)}")


@dataclass(frozen=True)
class Decision:
    """The verdict and why.

    `reasons` holds one human-readable sentence per failed condition (empty on
    PASS). `passed_success_metrics` names the success metrics that improved,
    `failed_guardrails` the guardrails that were breached, both in rule order.
    """

    verdict: Verdict
    reasons: tuple[str, ...]
    passed_success_metrics: tuple[str, ...]
    failed_guardrails: tuple[str, ...]


def decide(rule: DecisionRule, estimates: Mapping[str, DeltaEstimate]) -> Decision:
    """Applies `rule` to the per-metric estimates.

    Raises MissingEstimateError if `estimates` lacks a metric the rule names.
    """
    for name in [s.metric for s in rule.success_metrics] + [g.metric for g in rule.guardrails]:
        if name not in estimates:
            raise MissingEstimateError(name, sorted(estimates))
    improved = tuple(
        s.metric for s in rule.success_metrics if _improved(estimates[s.metric], s.direction)
    )
    reasons: list[str] = []
    if not improved:
        details = "; ".join(
            _success_detail(s.metric, estimates[s.metric], s.direction)
            for s in rule.success_metrics
        )
        reasons.append(f"no success metric improved: {details}")
    breached: list[str] = []
    for guardrail in rule.guardrails:
        reason = _guardrail_breach(guardrail, estimates[guardrail.metric])
        if reason is not None:
            breached.append(guardrail.metric)
            reasons.append(reason)
    return Decision(
        verdict=Verdict.FAIL if reasons else Verdict.PASS,
        reasons=tuple(reasons),
        passed_success_metrics=improved,
        failed_guardrails=tuple(breached),
    )


def _improved(estimate: DeltaEstimate, direction: Direction) -> bool:
    if direction is Direction.HIGHER_IS_BETTER:
        return estimate.ci_low > 0.0
    return estimate.ci_high < 0.0


def _success_detail(metric: str, estimate: DeltaEstimate, direction: Direction) -> str:
    if estimate.ci_low <= 0.0 <= estimate.ci_high:
        where = "includes 0"
    else:
        # The interval is entirely on one side of zero, and it is the worse side.
        side = "below" if direction is Direction.HIGHER_IS_BETTER else "above"
        where = f"is entirely {side} 0 (worse)"
    return (
        f"{metric} delta {estimate.delta:+.4f}, {_percent(estimate.confidence)} CI "
        f"[{estimate.ci_low:+.4f}, {estimate.ci_high:+.4f}] {where}"
    )


def _guardrail_breach(guardrail: Guardrail, estimate: DeltaEstimate) -> str | None:
    allowed = guardrail.margin * abs(estimate.champion)
    margin = f"{guardrail.margin * 100:.1f}%"
    if guardrail.direction is Direction.HIGHER_IS_BETTER:
        if estimate.ci_low >= -allowed:
            return None
        bound = f"(CI low {estimate.ci_low:.4f} < {-allowed + 0.0:.4f})"
    else:
        if estimate.ci_high <= allowed:
            return None
        bound = f"(CI high {estimate.ci_high:.4f} > {allowed:.4f})"
    return (
        f"guardrail {guardrail.metric}: challenger worse than champion by more than "
        f"the {margin} margin {bound}"
    )


def _percent(confidence: float) -> str:
    return f"{confidence * 100:g}%"
