"""The control plane messages a run sends: spec, lineage and an evaluation it accepts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from control_plane.decision_rules import rule_message
from control_plane.validation import validate_evaluation, validate_spec
from control_plane.verdicts import derive_verdict
from offline.decision import Multiplicity, Verdict
from offline.experiment.arms import ArmLists
from offline.experiment.measure import Measurement, decision_rule, measure
from offline.experiment.record import (
    RecordedRuleError,
    evaluation_message,
    experiment_spec,
    lineage,
    recorded_rule,
)
from offline.experiment.spec import ExperimentRunSpec
from offline.experiment.spec_loading import parse_spec
from offline.metrics.per_user import PerUserMetrics
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.data.dataset import Interactions
from tests.offline.experiment.factories import measurement
from tests.offline.experiment.specs import small_spec

CHALLENGER = "sv-00000000000000aa"
CHAMPION = "sv-00000000000000bb"


def _experiment() -> tuple[records_pb2.Experiment, object]:
    body = small_spec(
        metrics=["ndcg@10", "coverage"],
        guardrails=[{"metric": "coverage", "margin": 0.05, "direction": "higher"}],
    )
    body.pop("latency")
    spec = parse_spec(body)
    message = experiment_spec(spec, CHALLENGER, "ml-100k", "f" * 64)
    experiment = records_pb2.Experiment(
        experiment_id="exp-0123456789",
        spec=message,
        champion_version=CHAMPION,
        champion_pointer_revision=17,
    )
    return experiment, spec


def test_experiment_spec_passes_control_plane_validation() -> None:
    """The ExperimentSpec carries metrics, success metrics and guardrails with directions."""
    experiment, _ = _experiment()
    validate_spec(experiment.spec)
    (guardrail,) = experiment.spec.guardrails
    assert guardrail.direction == records_pb2.METRIC_DIRECTION_HIGHER_IS_BETTER
    assert experiment.spec.approvals_required == 1


def test_latency_budget_and_bootstrap_are_part_of_the_rule() -> None:
    """The absolute latency budget is a MetricBudget of the spec (no relative guardrail, not
    prose in the description); the rule's confidence and minimum resamples are the run's."""
    spec = parse_spec(small_spec())
    message = experiment_spec(spec, CHALLENGER, "ml-100k", "f" * 64)
    assert [(b.metric, b.max) for b in message.budgets] == [("latency_p99_ms", 1000.0)]
    assert "latency_p99_ms" not in [g.metric for g in message.guardrails]
    assert "latency_p99_ms" in message.metrics
    assert "latency" not in message.description
    assert (message.confidence, message.min_resamples) == (0.95, 200)
    validate_spec(message)


def test_evaluation_passes_control_plane_validation_with_reasons() -> None:
    """A PASS and a FAIL evaluation both match the experiment, carry the evidence of every
    metric measured (the rule's and the rest, so the deltas and arms shown are the evidence
    judged), and the control plane derives the same verdict and reasons from it;
    a PASS states why it passed."""
    experiment, spec = _experiment()
    for verdict in (Verdict.PASS, Verdict.FAIL):
        evaluation = evaluation_message(
            experiment, measurement(verdict), "file:///r.html", spec,  # type: ignore[arg-type]
            challenger_model_sha256="c" * 64,
        )
        validate_evaluation(evaluation, experiment)
        derived = derive_verdict(evaluation, experiment)
        assert (derived.verdict, derived.reasons) == (evaluation.verdict, tuple(evaluation.reasons))
        assert [e.metric for e in evaluation.evidence] == ["ndcg@10", "coverage"]
        assert [d.metric for d in evaluation.deltas] == ["ndcg@10", "coverage"]
        assert evaluation.champion_pointer_revision == 17
        assert evaluation.reasons
        assert evaluation.bootstrap_resamples == 200
        assert evaluation.challenger_model_sha256 == "c" * 64
        assert len(evaluation.segments) == 3
    assert evaluation.verdict == records_pb2.VERDICT_FAIL
    passed = evaluation_message(
        experiment, measurement(), "file:///r.html", spec, "c" * 64  # type: ignore[arg-type]
    )
    assert passed.reasons[0].startswith("ndcg@10 improved by +0.0500")


_SUCCESS = ["ndcg@10", "recall@10", "mrr@10"]


def _three_metric_run(
    shift: float, multiplicity: records_pb2.Multiplicity.ValueType = records_pb2.MULTIPLICITY_HOLM
) -> tuple[records_pb2.Experiment, ExperimentRunSpec, Measurement]:
    """A run judged on three success metrics over 400 users, measured by the real paired
    bootstrap: ndcg@10 gains `shift` per user on average, the other two only noise. The
    experiment's rule records `multiplicity`; the run decides by the rule it recorded."""
    body = small_spec(metrics=_SUCCESS, success_metrics=_SUCCESS, guardrails=[],
                      bootstrap={"resamples": 1000}, seed=3)  # fmt: skip
    body.pop("latency")
    spec = parse_spec(body)
    message = experiment_spec(spec, CHALLENGER, "ml-100k", "f" * 64)
    experiment = records_pb2.Experiment(
        experiment_id="exp-holm", spec=message, champion_version=CHAMPION,
        champion_pointer_revision=17, rule=rule_message(message),
    )  # fmt: skip
    experiment.rule.multiplicity = multiplicity
    users = np.arange(400, dtype=np.int64)
    base = {m: np.random.default_rng(11).uniform(0, 0.6, 400) for m in _SUCCESS}
    noise = np.random.default_rng(12).normal(0, 0.15, 400)
    other = np.random.default_rng(13).normal(0, 0.15, 400)
    moved = {m: v + (shift + noise if m == "ndcg@10" else other) for m, v in base.items()}
    per_user = {"ours": PerUserMetrics(users, moved), "theirs": PerUserMetrics(users, base)}

    # The arms' lists are stood for by their names: the evaluator hands measure() the
    # per-user metrics above, and the test split and TRAIN (for segments) have no rows.
    def evaluator(topk: object, *_: object) -> PerUserMetrics:
        return per_user[str(topk)]

    no_rows = Interactions(np.zeros(0, np.int64), np.zeros(0, np.int64),
                           np.zeros(0, np.float32), np.zeros(0, np.int64))  # fmt: skip
    measurement = measure(
        spec, recorded_rule(spec, experiment),
        ArmLists(None, "ours", None), ArmLists(None, "theirs", None),  # type: ignore[arg-type]
        no_rows, no_rows, None, None, None, evaluator,  # type: ignore[arg-type]
    )  # fmt: skip
    return experiment, spec, measurement


def test_the_control_plane_applies_holm_as_the_run_does() -> None:
    """A borderline ndcg@10 (interval above zero, p about 0.03) among three success metrics:
    the run decides FAIL after the Holm adjustment, records every metric's p-values, and
    the control plane derives the same verdict and reasons; a clear gain passes on both."""
    experiment, spec, borderline = _three_metric_run(shift=0.012)
    ndcg = borderline.deltas["ndcg@10"]
    assert ndcg.ci_low > 0.0
    assert ndcg.p_increase is not None
    assert 0.0167 < ndcg.p_increase < 0.05
    assert borderline.decision.verdict is Verdict.FAIL
    for shift, verdict in ((0.012, records_pb2.VERDICT_FAIL), (0.018, records_pb2.VERDICT_PASS)):
        experiment, spec, m = _three_metric_run(shift)
        evaluation = evaluation_message(experiment, m, "file:///r.html", spec, "c" * 64)
        assert all(e.HasField("p_increase") and e.HasField("p_decrease")
                   for e in evaluation.evidence)  # fmt: skip
        derived = derive_verdict(evaluation, experiment)
        assert derived.verdict == evaluation.verdict == verdict
        assert derived.reasons == tuple(evaluation.reasons)
        assert "Holm" in " ".join(derived.reasons)


def test_the_run_decides_by_the_rule_the_control_plane_recorded() -> None:
    """Against an experiment whose rule records no multiplicity (a control plane before
    Holm), the borderline ndcg@10 passes unadjusted in the run as in the control plane,
    verdict and reasons alike, instead of a Holm FAIL the control plane refuses."""
    experiment, spec, m = _three_metric_run(0.012, records_pb2.MULTIPLICITY_UNSPECIFIED)
    assert m.decision.verdict is Verdict.PASS
    evaluation = evaluation_message(experiment, m, "file:///r.html", spec, "c" * 64)
    derived = derive_verdict(evaluation, experiment)
    assert derived.verdict == evaluation.verdict == records_pb2.VERDICT_PASS
    assert derived.reasons == tuple(evaluation.reasons)
    assert "Holm" not in " ".join(derived.reasons)
    experiment.ClearField("rule")  # recorded before rules: judged without adjustment too
    assert recorded_rule(spec, experiment) == replace(decision_rule(spec),
                                                      multiplicity=Multiplicity.NONE)  # fmt: skip


def test_a_multiplicity_the_runner_does_not_know_is_refused() -> None:
    """A rule recorded with a multiplicity this runner cannot apply is refused before the
    run decides anything, naming the experiment."""
    experiment, spec = _experiment()
    experiment.rule.multiplicity = 7  # type: ignore[assignment]
    with pytest.raises(RecordedRuleError, match="exp-0123456789"):
        recorded_rule(spec, experiment)  # type: ignore[arg-type]


def test_lineage_names_split_seed_and_parameters() -> None:
    """The lineage records the split, the seed and every training parameter as text."""
    result = lineage(parse_spec(small_spec()), "abc123")
    assert result.split == "user_stratified:0.75:seed=42"
    assert result.code_revision == "abc123"
    assert result.training_params["seed"] == "7"
    assert result.training_params["n_estimators"] == "15"
    assert result.training_params["labels"] == "auto:0.2x1"
