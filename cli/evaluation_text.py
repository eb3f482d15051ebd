"""An experiment's recorded evaluation as `recmesh experiment show` prints it.

The verdict and who recorded it, the derived reasons, each metric's delta with its
interval and, when the evidence carries them, its paired-bootstrap p-values; then,
under a Holm rule with several success metrics, Holm's steps over their p-values of
an improvement (`recmesh.decision.holm`, what the control plane judged with); last,
the report.
"""

from __future__ import annotations

from cli.output import enum_word
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.decision import HolmStep, holm


def evaluation_lines(
    evaluation: records_pb2.Evaluation, rule: records_pb2.DecisionRule
) -> list[str]:
    """The lines that show `evaluation`, judged under the experiment's `rule`."""
    verdict = enum_word(records_pb2.Verdict.Name(evaluation.verdict), "VERDICT_")
    lines = [f"  evaluation  {verdict.upper()} by {evaluation.recorded_by}"]
    lines += [f"    - {reason}" for reason in evaluation.reasons]
    evidence = {item.metric: item for item in evaluation.evidence}
    for delta in evaluation.deltas:
        line = f"    {delta.metric}: {delta.delta:+.4f} [{delta.ci_low:+.4f}, {delta.ci_high:+.4f}]"
        item = evidence.get(delta.metric)
        p_values = _p_values(item) if item is not None else ""
        lines.append(f"{line}; {p_values}" if p_values else line)
    steps = _holm_steps(rule, evidence)
    if steps:
        alpha = 1.0 - rule.confidence
        lines.append(f"    Holm over {len(steps)} success metrics (family-wise error {alpha:.4g}):")
        width = max(len(step.metric) for step in steps)
        for step in steps:
            relation = "<" if step.significant else "is not below"
            lines.append(
                f"      {step.rank}. {step.metric:<{width}}  p {step.p_value:.4f}  threshold "
                f"{step.threshold:.4g}  adjusted p {step.adjusted_p:.4f} {relation} {alpha:.4g}"
            )
    if evaluation.report_uri:
        lines.append(f"    report {evaluation.report_uri}")
    return lines


def _p_values(item: records_pb2.MetricEvidence) -> str:
    """The p-values the evidence carries ("" when none: a measured value, or evidence
    recorded before p-values were)."""
    shown = []
    if item.HasField("p_increase"):
        shown.append(f"p_increase {item.p_increase:.4f}")
    if item.HasField("p_decrease"):
        shown.append(f"p_decrease {item.p_decrease:.4f}")
    return ", ".join(shown)


def _holm_steps(
    rule: records_pb2.DecisionRule, evidence: dict[str, records_pb2.MetricEvidence]
) -> tuple[HolmStep, ...]:
    """Holm's steps over the success metrics' p-values of an improvement in their
    direction; none unless the rule adjusts several (a rule recorded before Holm does
    not) and the evidence carries each one's p-value."""
    if rule.multiplicity != records_pb2.MULTIPLICITY_HOLM or len(rule.success_metrics) < 2:
        return ()
    pairs = []
    for success in rule.success_metrics:
        item = evidence.get(success.metric)
        p = None if item is None else _improvement_p(item, success.direction)
        if p is None:
            return ()
        pairs.append((success.metric, p))
    return holm(pairs, 1.0 - rule.confidence)


def _improvement_p(
    item: records_pb2.MetricEvidence, direction: records_pb2.MetricDirection.ValueType
) -> float | None:
    """p_decrease for a metric that gets better lower, p_increase otherwise; None when
    the evidence lacks it."""
    if direction == records_pb2.METRIC_DIRECTION_LOWER_IS_BETTER:
        return item.p_decrease if item.HasField("p_decrease") else None
    return item.p_increase if item.HasField("p_increase") else None
