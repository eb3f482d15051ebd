"""The verdict an evaluation records is derived from its evidence with the experiment's rule."""

from __future__ import annotations

import pytest

from control_plane.decision_rules import rule_message
from control_plane.verdicts import derive_verdict
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rpc.errors import InvalidArgumentError
from testkit.records import add_evidence, evaluation_for, restate, spec_for

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


def _three_success_metrics(ndcg_p: float) -> tuple[records_pb2.Experiment, records_pb2.Evaluation]:
    """An experiment judged on ndcg@10, recall@10 and mrr@10, and a declared PASS whose only
    interval clearing zero is ndcg@10's, with p-value `ndcg_p`."""
    spec = spec_for(CHALLENGER)
    spec.metrics.append("mrr@10")
    spec.success_metrics.extend(["recall@10", "mrr@10"])
    experiment = records_pb2.Experiment(
        experiment_id="exp-3",
        spec=spec,
        champion_version="sv-99887766554433aa",
        champion_pointer_revision=12,
        rule=rule_message(spec),
    )
    evaluation = evaluation_for(experiment)
    _evidence(evaluation, "ndcg@10").p_increase = ndcg_p
    add_evidence(evaluation, "recall@10", champion=0.2, challenger=0.21, ci_low=-0.01,
                 ci_high=0.03, p_increase=0.4)  # fmt: skip
    add_evidence(evaluation, "mrr@10", champion=0.5, challenger=0.5, ci_low=-0.02,
                 ci_high=0.02, p_increase=0.9)  # fmt: skip
    return experiment, evaluation


def test_holm_turns_a_borderline_pass_into_a_fail_on_the_control_plane_too() -> None:
    """ndcg@10 clears zero with p 0.03, but 3 x 0.03 = 0.09 is not below 0.05: the declared
    PASS is refused and the FAIL recorded with the Holm reason; with p 0.01 it passes."""
    experiment, evaluation = _three_success_metrics(ndcg_p=0.03)
    assert experiment.rule.multiplicity == records_pb2.MULTIPLICITY_HOLM
    with pytest.raises(InvalidArgumentError, match="the rule derives FAIL \\(no success metric "
                       "improved after the Holm adjustment over 3 success metrics"):  # fmt: skip
        derive_verdict(evaluation, experiment)
    evaluation.verdict = records_pb2.VERDICT_FAIL
    (reason,) = derive_verdict(evaluation, experiment).reasons
    assert "is entirely above 0 but its Holm-adjusted p 0.0900 is not below 0.05" in reason
    experiment, evaluation = _three_success_metrics(ndcg_p=0.01)
    derived = derive_verdict(evaluation, experiment)
    assert derived.verdict == records_pb2.VERDICT_PASS
    assert "Holm-adjusted p 0.0300 < 0.05" in derived.reasons[0]


def test_experiments_recorded_before_holm_are_judged_as_they_were() -> None:
    """A rule recorded without a multiplicity, or no rule at all: any interval clearing zero
    passes, and evidence without p-values is read."""
    experiment, evaluation = _three_success_metrics(ndcg_p=0.03)
    for item in evaluation.evidence:
        item.ClearField("p_increase")
    experiment.rule.ClearField("multiplicity")
    assert derive_verdict(evaluation, experiment).verdict == records_pb2.VERDICT_PASS
    experiment.ClearField("rule")
    assert derive_verdict(evaluation, experiment).verdict == records_pb2.VERDICT_PASS


def test_holm_evidence_without_a_p_value_or_with_a_wrong_one_is_refused() -> None:
    """A success metric without its p_increase, a p-value outside [0, 1], or one that
    contradicts its own interval (below 0.05 for an interval including zero): refused,
    naming the metric."""
    experiment, evaluation = _three_success_metrics(ndcg_p=0.01)
    _evidence(evaluation, "recall@10").ClearField("p_increase")
    with pytest.raises(InvalidArgumentError, match="'recall@10': no p_increase"):
        derive_verdict(evaluation, experiment)
    experiment, evaluation = _three_success_metrics(ndcg_p=1.5)
    with pytest.raises(InvalidArgumentError, match=r"'ndcg@10': p_increase 1\.5 is not a p-value"):
        derive_verdict(evaluation, experiment)
    experiment, evaluation = _three_success_metrics(ndcg_p=0.01)
    _evidence(evaluation, "recall@10").p_increase = 0.001
    with pytest.raises(InvalidArgumentError, match=r"'recall@10': p_increase 0\.001 contradicts"):
        derive_verdict(evaluation, experiment)
