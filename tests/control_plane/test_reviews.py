"""SubmitReview: who may approve, reject or comment, and when."""

from __future__ import annotations

import grpc

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error

APPROVE = records_pb2.REVIEW_VERDICT_APPROVE
REJECT = records_pb2.REVIEW_VERDICT_REJECT
COMMENT = records_pb2.REVIEW_VERDICT_COMMENT


def test_submitter_cannot_approve_own_experiment(control_plane: ControlPlaneHarness) -> None:
    """erin holds both experimenter and reviewer roles; approving her own experiment is
    PERMISSION_DENIED, and another reviewer's approval still counts."""
    experiment = control_plane.create_experiment(
        control_plane.register(control_plane.challenger_a), by="erin"
    )
    control_plane.record(experiment)
    error = rpc_error(control_plane.review, experiment.experiment_id, "erin", APPROVE)
    assert code_of(error) == grpc.StatusCode.PERMISSION_DENIED
    assert "erin submitted experiment" in details_of(error)
    assert "whatever roles they hold" in details_of(error)
    assert control_plane.approve(experiment.experiment_id, "dana").state == (
        records_pb2.EXPERIMENT_STATE_APPROVED
    )


def test_recorder_of_the_evaluation_cannot_approve(control_plane: ControlPlaneHarness) -> None:
    """erin (experimenter and reviewer) records the PASS of alice's experiment: her approval
    is PERMISSION_DENIED and audited (`review_refused`); the experiment stays PASSED until
    a second person approves."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    recorded = control_plane.stub.RecordEvaluation(
        pb.RecordEvaluationRequest(evaluation=control_plane.evaluation(experiment)),
        metadata=control_plane.auth("erin"),
    ).evaluation
    assert recorded.recorded_by == "erin"
    error = rpc_error(control_plane.review, experiment.experiment_id, "erin", APPROVE)
    assert code_of(error) == grpc.StatusCode.PERMISSION_DENIED
    assert f"erin recorded the evaluation of experiment {experiment.experiment_id}" in (
        details_of(error)
    )
    refusal = control_plane.audit_entries()[-1]
    assert (refusal.action, refusal.actor, refusal.subject) == (
        "review_refused",
        "erin",
        experiment.experiment_id,
    )
    assert refusal.details["code"] == "PERMISSION_DENIED"
    assert refusal.details["verdict"] == "approve"
    error = rpc_error(control_plane.promote, experiment.experiment_id)
    assert "not enough approvals: 0 of 1" in details_of(error)
    assert control_plane.approve(experiment.experiment_id, "bob").state == (
        records_pb2.EXPERIMENT_STATE_APPROVED
    )


def test_approvals_count_distinct_principals(control_plane: ControlPlaneHarness) -> None:
    """With two approvals required, bob approving twice is one approval; dana's makes two."""
    experiment = control_plane.create_experiment(
        control_plane.register(control_plane.challenger_a), approvals_required=2
    )
    control_plane.record(experiment)
    assert control_plane.approve(experiment.experiment_id, "bob").state == (
        records_pb2.EXPERIMENT_STATE_PASSED
    )
    assert control_plane.approve(experiment.experiment_id, "bob").state == (
        records_pb2.EXPERIMENT_STATE_PASSED
    )
    assert control_plane.approve(experiment.experiment_id, "dana").state == (
        records_pb2.EXPERIMENT_STATE_APPROVED
    )


def test_experimenters_comment_but_do_not_approve(control_plane: ControlPlaneHarness) -> None:
    """alice (experimenter) may add to the debate; approving someone else's experiment
    needs the reviewer role (PERMISSION_DENIED); operators may not review at all."""
    experiment = control_plane.create_experiment(
        control_plane.register(control_plane.challenger_a), by="erin"
    )
    control_plane.stub.RecordEvaluation(
        pb.RecordEvaluationRequest(evaluation=control_plane.evaluation(experiment)),
        metadata=control_plane.auth("erin"),
    )
    comment = control_plane.review(experiment.experiment_id, "alice", COMMENT, "why depth 6?")
    assert comment.review.author == "alice"
    assert comment.state == records_pb2.EXPERIMENT_STATE_PASSED
    error = rpc_error(control_plane.review, experiment.experiment_id, "alice", APPROVE)
    assert code_of(error) == grpc.StatusCode.PERMISSION_DENIED
    assert "not a reviewer" in details_of(error)
    error = rpc_error(control_plane.review, experiment.experiment_id, "olga", COMMENT, "hm")
    assert code_of(error) == grpc.StatusCode.PERMISSION_DENIED


def test_approval_needs_a_passing_evaluation(control_plane: ControlPlaneHarness) -> None:
    """Approving before the evaluation, or a FAIL, is FAILED_PRECONDITION; rejecting works."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    error = rpc_error(control_plane.approve, experiment.experiment_id)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "no evaluation yet" in details_of(error)
    control_plane.record(experiment, records_pb2.VERDICT_FAIL)
    error = rpc_error(control_plane.approve, experiment.experiment_id)
    assert "verdict FAIL" in details_of(error)
    rejected = control_plane.review(experiment.experiment_id, "dana", REJECT, "no gain")
    assert rejected.state == records_pb2.EXPERIMENT_STATE_REJECTED


def test_reviews_are_listed_in_order_and_audited(control_plane: ControlPlaneHarness) -> None:
    """ListReviews returns the debate in the order it happened; each review is audited."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    control_plane.record(experiment)
    control_plane.review(experiment.experiment_id, "bob", COMMENT, "first")
    control_plane.review(experiment.experiment_id, "alice", COMMENT, "second")
    control_plane.approve(experiment.experiment_id, "dana")
    reviews = control_plane.stub.ListReviews(
        pb.ListReviewsRequest(experiment_id=experiment.experiment_id),
        metadata=control_plane.auth("olga"),
    ).reviews
    assert [(r.author, r.verdict) for r in reviews] == [
        ("bob", COMMENT),
        ("alice", COMMENT),
        ("dana", APPROVE),
    ]
    actions = [(e.action, e.details["verdict"]) for e in control_plane.audit_entries()[-3:]]
    assert actions == [("review", "comment"), ("review", "comment"), ("review", "approve")]


def test_rejection_and_comment_need_text(control_plane: ControlPlaneHarness) -> None:
    """A rejection without a comment, or an empty comment, is INVALID_ARGUMENT."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    error = rpc_error(control_plane.review, experiment.experiment_id, "bob", REJECT, "")
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    error = rpc_error(
        control_plane.review, experiment.experiment_id, "bob",
        records_pb2.REVIEW_VERDICT_UNSPECIFIED, "x",
    )  # fmt: skip
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT


def test_reviews_refused_before_reading_the_experiment_are_audited(
    control_plane: ControlPlaneHarness,
) -> None:
    """No experiment id, a rejection without text, and an unknown experiment are refused
    (INVALID_ARGUMENT, INVALID_ARGUMENT, NOT_FOUND) and each leaves a `review_refused` entry
    with its code and reason."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    attempts = [
        ("", APPROVE, "review", "INVALID_ARGUMENT", "approve"),
        (experiment.experiment_id, REJECT, experiment.experiment_id, "INVALID_ARGUMENT", "reject"),
        ("exp-nope", COMMENT, "exp-nope", "NOT_FOUND", "comment"),
    ]
    for experiment_id, verdict, subject, code, word in attempts:
        comment = "" if verdict == REJECT else "why not"
        error = rpc_error(control_plane.review, experiment_id, "bob", verdict, comment)
        assert code_of(error).name == code
        refusal = control_plane.audit_entries()[-1]
        assert (refusal.action, refusal.actor, refusal.subject) == (
            "review_refused",
            "bob",
            subject,
        )
        assert (refusal.details["code"], refusal.details["verdict"]) == (code, word)
        assert refusal.details["reason"] == details_of(error)
