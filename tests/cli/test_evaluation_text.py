"""How `recmesh experiment show` prints an evaluation: p-values and Holm's steps only when
the evidence and the rule have them."""

from __future__ import annotations

from cli.evaluation_text import evaluation_lines
from control_plane.decision_rules import rule_message
from recmesh.api.controlplane.v1 import records_pb2
from testkit.records import add_evidence, evaluation_for, spec_for

CHALLENGER = "sv-00112233445566aa"


def _experiment(*success_metrics: str) -> records_pb2.Experiment:
    """spec_for's experiment measuring popularity and mrr@10 too, with more success metrics."""
    spec = spec_for(CHALLENGER)
    spec.metrics.extend(["popularity", "mrr@10"])
    spec.success_metrics.extend(success_metrics)
    return records_pb2.Experiment(spec=spec, rule=rule_message(spec))


def test_evidence_without_p_values_under_a_rule_recorded_before_holm_shows_neither() -> None:
    """An evaluation recorded before p-values, of an experiment recorded before Holm:
    the deltas as they were, no p-value, no Holm steps."""
    experiment = _experiment("mrr@10")
    experiment.rule.ClearField("multiplicity")
    evaluation = evaluation_for(experiment)
    add_evidence(evaluation, "mrr@10", champion=0.5, challenger=0.5, ci_low=-0.02, ci_high=0.02)
    lines = evaluation_lines(evaluation, experiment.rule)
    assert lines == [
        "  evaluation  PASS by ",
        "    ndcg@10: +0.0300 [+0.0100, +0.0500]",
        "    coverage: +0.0000 [-0.0050, +0.0050]",
        "    mrr@10: +0.0000 [-0.0200, +0.0200]",
        "    report file:///tmp/report.html",
    ]


def test_one_success_metric_shows_its_p_values_and_no_holm_steps() -> None:
    """With one success metric Holm changes nothing: the p-values, and no steps."""
    experiment = _experiment()
    evaluation = evaluation_for(experiment)
    evaluation.evidence[0].p_increase = 0.002
    evaluation.evidence[0].p_decrease = 1.0
    lines = evaluation_lines(evaluation, experiment.rule)
    assert "    ndcg@10: +0.0300 [+0.0100, +0.0500]; p_increase 0.0020, p_decrease 1.0000" in lines
    assert not [line for line in lines if "Holm" in line]


def test_a_lower_is_better_success_metric_is_ranked_by_its_p_decrease() -> None:
    """popularity gets better lower: Holm reads its p_decrease (0.004, rank 1, adjusted
    0.008 < 0.05), ndcg@10 its p_increase (0.02, adjusted 0.02 < 0.05)."""
    experiment = _experiment("popularity")
    evaluation = evaluation_for(experiment)
    evaluation.evidence[0].p_increase = 0.02
    add_evidence(evaluation, "popularity", champion=0.4, challenger=0.3, ci_low=-0.15,
                 ci_high=-0.05)  # fmt: skip
    evaluation.evidence[-1].p_increase, evaluation.evidence[-1].p_decrease = 1.0, 0.004
    lines = evaluation_lines(evaluation, experiment.rule)
    assert lines[-4:-1] == [
        "    Holm over 2 success metrics (family-wise error 0.05):",
        "      1. popularity  p 0.0040  threshold 0.025  adjusted p 0.0080 < 0.05",
        "      2. ndcg@10     p 0.0200  threshold 0.05  adjusted p 0.0200 < 0.05",
    ]


def test_holm_steps_need_every_success_metrics_p_value() -> None:
    """Evidence lacking one success metric's p-value (the control plane refuses it under
    Holm; written behind it): the p-values present, no steps."""
    experiment = _experiment("mrr@10")
    evaluation = evaluation_for(experiment)
    evaluation.evidence[0].p_increase = 0.02
    add_evidence(evaluation, "mrr@10", champion=0.5, challenger=0.5, ci_low=-0.02, ci_high=0.02)
    lines = evaluation_lines(evaluation, experiment.rule)
    assert "    ndcg@10: +0.0300 [+0.0100, +0.0500]; p_increase 0.0200" in lines
    assert not [line for line in lines if "Holm" in line]
