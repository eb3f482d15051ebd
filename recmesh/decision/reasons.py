"""The reasons an evaluation records: a FAIL's failed conditions, or why a PASS passed."""

from __future__ import annotations

import math
from collections.abc import Mapping

from recmesh.decision.decide import Decision, Verdict, holm_phrase, interval_improves, percent
from recmesh.decision.evidence import MetricEvidence, relative_change
from recmesh.decision.rule import DecisionRule


def verdict_reasons(
    rule: DecisionRule, evidence: Mapping[str, MetricEvidence], decision: Decision
) -> tuple[str, ...]:
    """A FAIL's reasons as decided; for a PASS, each improved success metric with its
    interval (and its Holm-adjusted p-value when the rule adjusts several), the success
    metrics whose interval cleared zero but whose adjusted p-value did not count, then
    the guardrails and budgets that held. A function of the rule, the evidence and its
    decision only, so the control plane derives the same sentences."""
    if decision.verdict is Verdict.FAIL:
        return decision.reasons
    steps = {step.metric: step for step in decision.holm}
    reasons = []
    for metric in decision.passed_success_metrics:
        d = evidence[metric]
        reason = (
            f"{metric} improved by {d.delta:+.4f} ({_relative(relative_change(d))}), "
            f"{percent(d.confidence)} CI [{d.ci_low:+.4f}, {d.ci_high:+.4f}]"
        )
        if metric in steps:
            reason += f", {holm_phrase(steps[metric], d.confidence)}"
        reasons.append(reason)
    if decision.holm:
        directions = {s.metric: s.direction for s in rule.success_metrics}
        adjusted_out = [
            f"{step.metric} ({holm_phrase(step, evidence[step.metric].confidence)})"
            for step in decision.holm
            if step.metric not in decision.passed_success_metrics
            and interval_improves(evidence[step.metric], directions[step.metric])
        ]
        reasons.append(
            f"Holm adjustment over {len(decision.holm)} success metrics (family-wise error "
            f"{rule.alpha:.4g})"
            + (f"; not counted: {', '.join(adjusted_out)}" if adjusted_out else "")
        )
    held = [g.metric for g in rule.guardrails]
    held += [f"{b.metric} {evidence[b.metric].challenger:.2f} <= {b.max:g}" for b in rule.budgets]
    if held:
        reasons.append(f"guardrails held: {', '.join(held)}")
    return tuple(reasons)


def _relative(relative: float) -> str:
    return "n/a" if math.isnan(relative) else f"{relative * 100:+.1f}%"
