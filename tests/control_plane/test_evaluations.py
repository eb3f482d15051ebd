"""RecordEvaluation: bound to the experiment's challenger, champion, revision and dataset;
written once."""

from __future__ import annotations

import grpc

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from testkit.records import evaluation_for, restate
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error


def _record(control_plane: ControlPlaneHarness, evaluation: records_pb2.Evaluation) -> None:
    control_plane.stub.RecordEvaluation(
        pb.RecordEvaluationRequest(evaluation=evaluation), metadata=control_plane.auth("alice")
    )


def test_recorded_evaluation_is_stamped_and_readable(control_plane: ControlPlaneHarness) -> None:
    """The stored evaluation carries who recorded it and when; GetEvaluation returns it and
    the experiment becomes PASSED."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    recorded = control_plane.record(experiment)
    assert recorded.recorded_by == "alice"
    assert recorded.recorded_at.seconds > 0
    got = control_plane.stub.GetEvaluation(
        pb.GetEvaluationRequest(experiment_id=experiment.experiment_id),
        metadata=control_plane.auth("bob"),
    )
    assert got.evaluation == recorded
    listed = control_plane.stub.ListExperiments(
        pb.ListExperimentsRequest(state=records_pb2.EXPERIMENT_STATE_PASSED),
        metadata=control_plane.auth("bob"),
    )
    assert [e.experiment_id for e in listed.experiments] == [experiment.experiment_id]


def test_second_evaluation_is_already_exists(control_plane: ControlPlaneHarness) -> None:
    """Evaluations are immutable: a second one is ALREADY_EXISTS and the first stays."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    first = control_plane.record(experiment)
    error = rpc_error(_record, control_plane, evaluation_for(experiment, records_pb2.VERDICT_FAIL))
    assert code_of(error) == grpc.StatusCode.ALREADY_EXISTS
    assert "evaluations are immutable" in details_of(error)
    got = control_plane.stub.GetEvaluation(
        pb.GetEvaluationRequest(experiment_id=experiment.experiment_id),
        metadata=control_plane.auth("bob"),
    )
    assert got.evaluation == first


def test_evaluation_of_something_else_is_invalid(control_plane: ControlPlaneHarness) -> None:
    """An evaluation whose pointer revision or dataset differs from the experiment's is
    INVALID_ARGUMENT; nothing is recorded."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    evaluation = evaluation_for(experiment)
    evaluation.champion_pointer_revision += 1
    error = rpc_error(_record, control_plane, evaluation)
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert "champion_pointer_revision" in details_of(error)
    evaluation = evaluation_for(experiment)
    evaluation.dataset_fingerprint = "another-dataset"
    error = rpc_error(_record, control_plane, evaluation)
    assert "dataset_fingerprint" in details_of(error)
    error = rpc_error(
        control_plane.stub.GetEvaluation,
        pb.GetEvaluationRequest(experiment_id=experiment.experiment_id),
        metadata=control_plane.auth("bob"),
    )
    assert code_of(error) == grpc.StatusCode.NOT_FOUND


def test_evaluation_of_unknown_experiment_is_not_found(
    control_plane: ControlPlaneHarness,
) -> None:
    """Recording against an experiment id that does not exist is NOT_FOUND."""
    error = rpc_error(_record, control_plane, records_pb2.Evaluation(experiment_id="exp-nope"))
    assert code_of(error) == grpc.StatusCode.NOT_FOUND


def _attempt(
    control_plane: ControlPlaneHarness, experiment: records_pb2.Experiment, change: str
) -> records_pb2.Evaluation:
    """The experiment's honest PASS, then altered as an attacker would."""
    evaluation: records_pb2.Evaluation = control_plane.evaluation(experiment)
    ndcg = next(e for e in evaluation.evidence if e.metric == "ndcg@10")
    if change == "missing":
        evaluation.evidence.remove(ndcg)
    elif change == "resamples":
        ndcg.resamples = 10
    elif change == "contradicting":
        restate(evaluation, "ndcg@10", challenger=0.25, ci_low=-0.08, ci_high=-0.02)
    return evaluation


def test_a_pass_the_evidence_does_not_support_is_refused_and_audited(
    control_plane: ControlPlaneHarness,
) -> None:
    """A PASS without ndcg@10's evidence, with 10 resamples behind it (the rule requires
    1,000), or with its interval entirely below zero is INVALID_ARGUMENT naming ndcg@10;
    nothing is recorded, each refusal is audited, and the honest PASS is then recorded."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    assert experiment.rule.min_resamples == 1000
    expected = {
        "missing": "no evidence for metric 'ndcg@10'",
        "resamples": "'ndcg@10': its interval comes from 10 bootstrap resamples",
        "contradicting": "declared verdict PASS differs from the evidence at ndcg@10",
    }
    for change, message in expected.items():
        error = rpc_error(_record, control_plane, _attempt(control_plane, experiment, change))
        assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
        assert message in details_of(error)
        refusal = control_plane.audit_entries()[-1]
        assert (refusal.action, refusal.actor, refusal.subject) == (
            "record_evaluation_refused",
            "alice",
            experiment.experiment_id,
        )
        assert message in refusal.details["reason"]
    error = rpc_error(
        control_plane.stub.GetEvaluation,
        pb.GetEvaluationRequest(experiment_id=experiment.experiment_id),
        metadata=control_plane.auth("bob"),
    )
    assert code_of(error) == grpc.StatusCode.NOT_FOUND
    recorded = control_plane.record(experiment)
    assert recorded.verdict == records_pb2.VERDICT_PASS
    assert list(recorded.reasons) == [
        "ndcg@10 improved by +0.0300 (+10.0%), 95% CI [+0.0100, +0.0500]",
        "guardrails held: coverage",
    ]


def _inconsistent(
    control_plane: ControlPlaneHarness, experiment: records_pb2.Experiment, change: str
) -> records_pb2.Evaluation:
    """The honest PASS whose record shows something its evidence does not say."""
    evaluation: records_pb2.Evaluation = control_plane.evaluation(experiment)
    if change == "arm":
        (challenger,) = [a for a in evaluation.arms if a.arm == "challenger"]
        (ndcg,) = [v for v in challenger.metrics if v.metric == "ndcg@10"]
        ndcg.value = ndcg.ci_low = ndcg.ci_high = 0.9
    elif change == "delta without evidence":
        evaluation.deltas.append(
            records_pb2.MetricDelta(metric="recall@10", delta=0.2, ci_low=0.1, ci_high=0.3)
        )
    elif change == "delta outside its interval":
        restate(evaluation, "ndcg@10", challenger=0.33, ci_low=0.04, ci_high=0.05)
    return evaluation


def test_a_record_showing_other_numbers_than_its_evidence_is_refused_and_audited(
    control_plane: ControlPlaneHarness,
) -> None:
    """A PASS whose challenger arm reports another ndcg@10 than the evidence, whose deltas
    show recall@10 with no evidence for it, or whose ndcg@10 delta lies outside its own
    interval is INVALID_ARGUMENT naming the metric, audited, and nothing is recorded."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    expected = {
        "arm": "'ndcg@10': the challenger arm reports 0.9, the evidence 0.33",
        "delta without evidence": "deltas 'recall@10': no evidence for this metric",
        "delta outside its interval": "'ndcg@10': delta 0.030000000000000027 lies outside its own",
    }
    for change, message in expected.items():
        error = rpc_error(_record, control_plane, _inconsistent(control_plane, experiment, change))
        assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT, change
        assert message in details_of(error)
        refusal = control_plane.audit_entries()[-1]
        assert (refusal.action, refusal.details["code"]) == (
            "record_evaluation_refused",
            "INVALID_ARGUMENT",
        )
    error = rpc_error(
        control_plane.stub.GetEvaluation,
        pb.GetEvaluationRequest(experiment_id=experiment.experiment_id),
        metadata=control_plane.auth("bob"),
    )
    assert code_of(error) == grpc.StatusCode.NOT_FOUND


def test_every_refused_evaluation_is_audited(control_plane: ControlPlaneHarness) -> None:
    """An evaluation of another dataset, of another model than the challenger's, of an
    unknown experiment, and a second one are refused, each with a
    `record_evaluation_refused` entry carrying its code and reason."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    other_dataset = control_plane.evaluation(experiment)
    other_dataset.dataset_fingerprint = "another-dataset"
    other_model = control_plane.evaluation(experiment)
    other_model.challenger_model_sha256 = "0" * 64
    unknown = control_plane.evaluation(experiment)
    unknown.experiment_id = "exp-nope"
    attempts = [
        (other_dataset, experiment.experiment_id, "INVALID_ARGUMENT"),
        (other_model, experiment.experiment_id, "INVALID_ARGUMENT"),
        (unknown, "exp-nope", "NOT_FOUND"),
    ]
    for evaluation, subject, code in attempts:
        error = rpc_error(_record, control_plane, evaluation)
        assert code_of(error).name == code
        refusal = control_plane.audit_entries()[-1]
        assert (refusal.action, refusal.actor, refusal.subject) == (
            "record_evaluation_refused",
            "alice",
            subject,
        )
        assert (refusal.details["code"], refusal.details["reason"]) == (code, details_of(error))
    control_plane.record(experiment)
    error = rpc_error(_record, control_plane, control_plane.evaluation(experiment))
    assert code_of(error) == grpc.StatusCode.ALREADY_EXISTS
    assert control_plane.audit_entries()[-1].details["code"] == "ALREADY_EXISTS"


def test_an_unknown_verdict_number_is_invalid_and_audited(
    control_plane: ControlPlaneHarness,
) -> None:
    """A verdict outside the enum (proto3 keeps unknown numbers) is INVALID_ARGUMENT, not
    UNKNOWN, and its refusal is audited with the number it carried."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    evaluation = evaluation_for(experiment)
    evaluation.verdict = -1  # type: ignore[assignment]
    error = rpc_error(_record, control_plane, evaluation)
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    refused = control_plane.audit_entries()[-1]
    assert refused.action == "record_evaluation_refused"
    assert refused.details["verdict"] == "unknown verdict -1"
