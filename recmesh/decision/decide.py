"""The verdict: does the challenger beat the champion without breaking a guardrail or a budget?

PASS requires every condition; each one that fails gives one reason:

1. Success: at least one success metric improves, its whole interval on the
   better side of zero (above zero when higher is better, below when lower is).
2. Guardrails: every guardrail metric is non-inferior within its margin, a
   fraction of the champion's value: the worse end of the delta's interval
   must not cross -margin * |champion| (higher is better: ci_low >= that
   bound) or +margin * |champion| (lower is better: ci_high <= that bound).
3. Budgets: the challenger's value of every budget metric is at most its max.

Evidence that cannot be judged (a metric missing, an interval at another
confidence or from too few resamples) is an EvidenceError, never a FAIL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from recmesh.decision.errors import (
    ConfidenceMismatchError,
    MissingEvidenceError,
    TooFewResamplesError,
)
from recmesh.decision.evidence import MetricEvidence
from recmesh.decision.rule import Budget, DecisionRule, Direction, Guardrail


class Verdict(Enum):
    PASS = "PASS"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Decision:
    """The verdict and why.

    `reasons` holds one human-readable sentence per failed condition (empty on
    PASS). `passed_success_metrics` names the success metrics that improved,
    `failed_guardrails` the guardrails, then the budgets, that were breached,
    both in rule order.
    """

    verdict: Verdict
    reasons: tuple[str, ...]
    passed_success_metrics: tuple[str, ...]
    failed_guardrails: tuple[str, ...]


def check_evidence(rule: DecisionRule, evidence: Mapping[str, MetricEvidence]) -> None:
    """Raises an EvidenceError for the first metric of the rule (in rule order) whose
    evidence is missing, or whose interval is at another confidence or from fewer
    resamples than the rule requires. Budget metrics need only their value."""
    for name in rule.metrics:
        if name not in evidence:
            raise MissingEvidenceError(name, sorted(evidence))
    for name in rule.interval_metrics:
        item = evidence[name]
        if item.confidence != rule.confidence:
            raise ConfidenceMismatchError(name, item.confidence, rule.confidence)
        if item.resamples < rule.min_resamples:
            raise TooFewResamplesError(name, item.resamples, rule.min_resamples)


def decide(rule: DecisionRule, evidence: Mapping[str, MetricEvidence]) -> Decision:
    """Applies `rule` to the per-metric evidence (check_evidence first)."""
    check_evidence(rule, evidence)
    improved = tuple(
        s.metric for s in rule.success_metrics if _improved(evidence[s.metric], s.direction)
    )
    reasons: list[str] = []
    if not improved:
        details = "; ".join(
            _success_detail(s.metric, evidence[s.metric], s.direction)
            for s in rule.success_metrics
        )
        reasons.append(f"no success metric improved: {details}")
    breached: list[str] = []
    for guardrail in rule.guardrails:
        reason = _guardrail_breach(guardrail, evidence[guardrail.metric])
        if reason is not None:
            breached.append(guardrail.metric)
            reasons.append(reason)
    for budget in rule.budgets:
        reason = _budget_breach(budget, evidence[budget.metric])
        if reason is not None:
            breached.append(budget.metric)
            reasons.append(reason)
    return Decision(
        verdict=Verdict.FAIL if reasons else Verdict.PASS,
        reasons=tuple(reasons),
        passed_success_metrics=improved,
        failed_guardrails=tuple(breached),
    )


def _improved(evidence: MetricEvidence, direction: Direction) -> bool:
    if direction is Direction.HIGHER_IS_BETTER:
        return evidence.ci_low > 0.0
    return evidence.ci_high < 0.0


def _success_detail(metric: str, evidence: MetricEvidence, direction: Direction) -> str:
    if evidence.ci_low <= 0.0 <= evidence.ci_high:
        where = "includes 0"
    else:
        # The interval is entirely on one side of zero, and it is the worse side.
        side = "below" if direction is Direction.HIGHER_IS_BETTER else "above"
        where = f"is entirely {side} 0 (worse)"
    return (
        f"{metric} delta {evidence.delta:+.4f}, {percent(evidence.confidence)} CI "
        f"[{evidence.ci_low:+.4f}, {evidence.ci_high:+.4f}] {where}"
    )


def _guardrail_breach(guardrail: Guardrail, evidence: MetricEvidence) -> str | None:
    allowed = guardrail.margin * abs(evidence.champion)
    margin = f"{guardrail.margin * 100:.1f}%"
    if guardrail.direction is Direction.HIGHER_IS_BETTER:
        if evidence.ci_low >= -allowed:
            return None
        bound = f"(CI low {evidence.ci_low:.4f} < {-allowed + 0.0:.4f})"
    else:
        if evidence.ci_high <= allowed:
            return None
        bound = f"(CI high {evidence.ci_high:.4f} > {allowed:.4f})"
    return (
        f"guardrail {guardrail.metric}: challenger worse than champion by more than "
        f"the {margin} margin {bound}"
    )


def _budget_breach(budget: Budget, evidence: MetricEvidence) -> str | None:
    if evidence.challenger <= budget.max:
        return None
    return (
        f"guardrail {budget.metric}: challenger's {evidence.challenger:.2f} is over the "
        f"budget of {budget.max:g}"
    )


def percent(confidence: float) -> str:
    return f"{confidence * 100:g}%"
