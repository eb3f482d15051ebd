"""The verdict an evaluation records is derived from its evidence with the experiment's rule."""

from __future__ import annotations

import pytest

from control_plane.decision_rules import rule_message
from control_plane.verdicts import derive_verdict
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rpc.errors import InvalidArgumentError
from testkit.records import evaluation_for, restate, spec_for

CHALLENGER = "sv-00112233445566aa"


def _experiment() -> records_pb2.Experiment:
    spec = spec_for(CHALLENGER)
    return records_pb2.Experiment(
        experiment_id="exp-1",
        spec=spec,
        champion_version="sv-99887766554433aa",
        champion_pointer_revision=12,
        rule=rule_message(spec),
    )


def _evidence(evaluation: records_pb2.Evaluation, metric: str) -> records_pb2.MetricEvidence:
    (item,) = [e for e in evaluation.evidence if e.metric == metric]
    return item


def test_consistent_evaluations_get_the_derived_reasons() -> None:
    """The harness's PASS and FAIL are what their evidence says; the reasons are derived
    (whatever the submitter wrote)."""
    experiment = _experiment()
    passed = evaluation_for(experiment)
    passed.reasons[:] = ["trust me"]
    derived = derive_verdict(passed, experiment)
    assert derived.verdict == records_pb2.VERDICT_PASS
    assert derived.reasons == (
        "ndcg@10 improved by +0.0300 (+10.0%), 95% CI [+0.0100, +0.0500]",
        "guardrails held: coverage",
    )
    failed = derive_verdict(evaluation_for(experiment, records_pb2.VERDICT_FAIL), experiment)
    assert failed.verdict == records_pb2.VERDICT_FAIL
    assert failed.reasons[0].startswith("no success metric improved: ndcg@10 delta +0.0300")


def test_a_pass_contradicting_its_own_deltas_names_the_metric() -> None:
    """A PASS whose ndcg@10 interval is entirely below zero: refused at ndcg@10."""
    experiment = _experiment()
    evaluation = evaluation_for(experiment)
    restate(evaluation, "ndcg@10", challenger=0.25, ci_low=-0.08, ci_high=-0.02)
    with pytest.raises(InvalidArgumentError, match="declared verdict PASS differs from the "
                       "evidence at ndcg@10: the rule derives FAIL"):  # fmt: skip
        derive_verdict(evaluation, experiment)


def test_a_pass_breaking_a_guardrail_names_the_guardrail() -> None:
    """ndcg@10 improved but coverage fell beyond its 2 % margin: refused at coverage."""
    experiment = _experiment()
    evaluation = evaluation_for(experiment)
    restate(evaluation, "coverage", challenger=0.40, ci_low=-0.2, ci_high=0.005)
    with pytest.raises(InvalidArgumentError, match="differs from the evidence at coverage"):
        derive_verdict(evaluation, experiment)


def test_a_fail_the_evidence_passes_is_refused_too() -> None:
    """Declaring FAIL on passing evidence is refused as well, naming the improved metric."""
    experiment = _experiment()
    evaluation = evaluation_for(experiment)
    evaluation.verdict = records_pb2.VERDICT_FAIL
    with pytest.raises(InvalidArgumentError, match="declared verdict FAIL differs from the "
                       "evidence at ndcg@10: it improved"):  # fmt: skip
        derive_verdict(evaluation, experiment)


def test_missing_evidence_or_too_few_resamples_are_refused() -> None:
    """A PASS without coverage's evidence, or with 999 resamples behind ndcg@10 when the rule
    requires 1,000, or with no evidence at all: INVALID_ARGUMENT naming the metric."""
    experiment = _experiment()
    evaluation = evaluation_for(experiment)
    evaluation.evidence.remove(_evidence(evaluation, "coverage"))
    with pytest.raises(InvalidArgumentError, match="no evidence for metric 'coverage'"):
        derive_verdict(evaluation, experiment)
    evaluation = evaluation_for(experiment)
    _evidence(evaluation, "ndcg@10").resamples = 999
    with pytest.raises(InvalidArgumentError, match="'ndcg@10': its interval comes from 999"):
        derive_verdict(evaluation, experiment)
    evaluation = evaluation_for(experiment)
    del evaluation.evidence[:], evaluation.deltas[:]
    with pytest.raises(InvalidArgumentError, match="no evidence for metric 'ndcg@10'"):
        derive_verdict(evaluation, experiment)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"delta": 0.5}, "is not challenger - champion"),
        ({"ci_low": 0.9}, "is above ci_high"),
        ({"champion": float("nan")}, "values must be finite"),
        ({"confidence": 0.0}, "is not in"),
        ({"metric": "mrr"}, "not among the experiment's metrics"),
    ],
)
def test_malformed_evidence_is_refused(change: dict[str, object], message: str) -> None:
    """Evidence whose delta is not challenger - champion, with an inverted or non-finite
    interval, no confidence level, or of a metric not measured: refused."""
    experiment = _experiment()
    evaluation = evaluation_for(experiment)
    item = _evidence(evaluation, "ndcg@10")
    for name, value in change.items():
        setattr(item, name, value)
    with pytest.raises(InvalidArgumentError, match=message):
        derive_verdict(evaluation, experiment)


def test_evidence_must_agree_with_the_recorded_deltas() -> None:
    """The deltas the record shows are the ones judged: a different interval is refused."""
    experiment = _experiment()
    evaluation = evaluation_for(experiment)
    evaluation.deltas[0].ci_low = 0.02
    with pytest.raises(InvalidArgumentError, match="differs from the evaluation's delta"):
        derive_verdict(evaluation, experiment)


def test_the_recorded_rule_states_defaults_and_directions() -> None:
    """The rule gets the spec's guardrails and budgets, each success metric's direction
    (popularity is lower-is-better), and confidence 0.95 with 1,000 resamples by default."""
    spec = spec_for(CHALLENGER)
    spec.metrics.append("popularity")
    spec.success_metrics.append("popularity")
    spec.budgets.append(records_pb2.MetricBudget(metric="coverage", max=0.9))
    rule = rule_message(spec)
    assert [(s.metric, s.direction) for s in rule.success_metrics] == [
        ("ndcg@10", records_pb2.METRIC_DIRECTION_HIGHER_IS_BETTER),
        ("popularity", records_pb2.METRIC_DIRECTION_LOWER_IS_BETTER),
    ]
    assert list(rule.guardrails) == list(spec.guardrails)
    assert [(b.metric, b.max) for b in rule.budgets] == [("coverage", 0.9)]
    assert (rule.confidence, rule.min_resamples) == (0.95, 1000)
    spec.confidence, spec.min_resamples = 0.9, 5000
    assert (rule_message(spec).confidence, rule_message(spec).min_resamples) == (0.9, 5000)
