"""The verdict: does the challenger beat the champion without breaking a guardrail or a budget?

PASS requires every condition; each one that fails gives one reason:

1. Success: at least one success metric improves, its whole interval on the
   better side of zero (above zero when higher is better, below when lower is).
   With several success metrics (and a Holm rule), its Holm-adjusted p-value over
   all of them must also be below 1 - confidence, so that the chance of a PASS on
   noise stays at most 1 - confidence however many success metrics there are
   (`recmesh.decision.multiplicity`).
2. Guardrails: every guardrail metric is non-inferior within its margin, a
   fraction of the champion's value: the worse end of the delta's interval
   must not cross -margin * |champion| (higher is better: ci_low >= that
   bound) or +margin * |champion| (lower is better: ci_high <= that bound).
3. Budgets: the challenger's value of every budget metric is at most its max.

Evidence that cannot be judged (a metric missing, an interval at another
confidence or from too few resamples, a success metric without the p-value the
Holm adjustment needs) is an EvidenceError, never a FAIL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from recmesh.decision.errors import (
    ConfidenceMismatchError,
    EvidenceError,
    MissingEvidenceError,
    MissingPValueError,
    TooFewResamplesError,
)
from recmesh.decision.evidence import MetricEvidence, improvement_p
from recmesh.decision.multiplicity import HolmStep, holm
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
    both in rule order. `holm` holds the Holm steps of the success metrics in rank
    order when the rule adjusts them (empty otherwise).
    """

    verdict: Verdict
    reasons: tuple[str, ...]
    passed_success_metrics: tuple[str, ...]
    failed_guardrails: tuple[str, ...]
    holm: tuple[HolmStep, ...] = ()


_P_FIELDS = {Direction.HIGHER_IS_BETTER: "p_increase", Direction.LOWER_IS_BETTER: "p_decrease"}


def check_evidence(rule: DecisionRule, evidence: Mapping[str, MetricEvidence]) -> None:
    """Raises an EvidenceError for the first metric of the rule (in rule order) whose
    evidence is missing, or whose interval is at another confidence or from fewer
    resamples than the rule requires, then for a success metric without the p-value of
    an improvement when the rule adjusts several (Holm). Budget metrics need only their
    value."""
    for name in rule.metrics:
        if name not in evidence:
            raise MissingEvidenceError(name, sorted(evidence))
    for name in rule.interval_metrics:
        item = evidence[name]
        if item.confidence != rule.confidence:
            raise ConfidenceMismatchError(name, item.confidence, rule.confidence)
        if item.resamples < rule.min_resamples:
            raise TooFewResamplesError(name, item.resamples, rule.min_resamples)
    if rule.holm_adjusted:
        _improvement_ps(rule, evidence)


def decide(rule: DecisionRule, evidence: Mapping[str, MetricEvidence]) -> Decision:
    """Applies `rule` to the per-metric evidence (check_evidence first)."""
    check_evidence(rule, evidence)
    steps = holm_steps(rule, evidence)
    significant = {step.metric for step in steps if step.significant}
    improved = tuple(
        s.metric
        for s in rule.success_metrics
        if interval_improves(evidence[s.metric], s.direction)
        and (not rule.holm_adjusted or s.metric in significant)
    )
    reasons: list[str] = []
    if not improved:
        reasons.append(_no_improvement(rule, evidence, steps))
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
        holm=steps,
    )


def holm_steps(rule: DecisionRule, evidence: Mapping[str, MetricEvidence]) -> tuple[HolmStep, ...]:
    """Holm's steps over the success metrics' p-values of an improvement, at the rule's
    alpha; empty unless the rule adjusts them (`DecisionRule.holm_adjusted`). Raises
    an EvidenceError for a p-value missing or outside [0, 1]."""
    if not rule.holm_adjusted:
        return ()
    return holm(_improvement_ps(rule, evidence), rule.alpha)


def _improvement_ps(
    rule: DecisionRule, evidence: Mapping[str, MetricEvidence]
) -> list[tuple[str, float]]:
    """Each success metric's p-value of an improvement in its direction; an EvidenceError
    for one that is missing or not in [0, 1]."""
    pairs = []
    for success in rule.success_metrics:
        p = improvement_p(evidence[success.metric], success.direction)
        field = _P_FIELDS[success.direction]
        if p is None:
            raise MissingPValueError(success.metric, field)
        if not 0.0 <= p <= 1.0:
            raise EvidenceError(
                success.metric,
                f"metric {success.metric!r}: {field} {p!r} is not a p-value in [0, 1]",
            )
        pairs.append((success.metric, p))
    return pairs


def interval_improves(evidence: MetricEvidence, direction: Direction) -> bool:
    """Whether the delta's whole interval lies on the `direction`'s better side of zero."""
    if direction is Direction.HIGHER_IS_BETTER:
        return evidence.ci_low > 0.0
    return evidence.ci_high < 0.0


def _no_improvement(
    rule: DecisionRule, evidence: Mapping[str, MetricEvidence], steps: tuple[HolmStep, ...]
) -> str:
    by_metric = {step.metric: step for step in steps}
    details = "; ".join(
        _success_detail(s.metric, evidence[s.metric], s.direction, by_metric.get(s.metric))
        for s in rule.success_metrics
    )
    if not steps:
        return f"no success metric improved: {details}"
    return (
        f"no success metric improved after the Holm adjustment over {len(steps)} success "
        f"metrics (family-wise error {rule.alpha:.4g}): {details}"
    )


def _success_detail(
    metric: str, evidence: MetricEvidence, direction: Direction, step: HolmStep | None
) -> str:
    improved = interval_improves(evidence, direction)
    if evidence.ci_low <= 0.0 <= evidence.ci_high:
        where = "includes 0"
    elif improved:
        side = "above" if direction is Direction.HIGHER_IS_BETTER else "below"
        where = f"is entirely {side} 0"
    else:
        # The interval is entirely on one side of zero, and it is the worse side.
        side = "below" if direction is Direction.HIGHER_IS_BETTER else "above"
        where = f"is entirely {side} 0 (worse)"
    detail = (
        f"{metric} delta {evidence.delta:+.4f}, {percent(evidence.confidence)} CI "
        f"[{evidence.ci_low:+.4f}, {evidence.ci_high:+.4f}] {where}"
    )
    if step is None:
        return detail
    joint = "but" if improved else "and"
    return f"{detail} {joint} its {holm_phrase(step, evidence.confidence)}"


def holm_phrase(step: HolmStep, confidence: float) -> str:
    """A Holm step as read in a reason: the adjusted p-value against alpha, and whence."""
    relation = "<" if step.significant else "is not below"
    return (
        f"Holm-adjusted p {step.adjusted_p:.4f} {relation} {1.0 - confidence:.4g} "
        f"(p {step.p_value:.4f}, rank {step.rank}, threshold {step.threshold:.4g})"
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
