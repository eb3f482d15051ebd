"""Rollback: back to the version that served before, or a named earlier one; audited."""

from __future__ import annotations

import grpc

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error


def _rollback(
    control_plane: ControlPlaneHarness, reason: str, target: str = "", by: str = "olga"
) -> pb.RollbackResponse:
    response: pb.RollbackResponse = control_plane.stub.Rollback(
        pb.RollbackRequest(reason=reason, target_version=target), metadata=control_plane.auth(by)
    )
    return response


def test_rollback_restores_the_previous_version(control_plane: ControlPlaneHarness) -> None:
    """After a promotion, rollback points serving back at the baseline, with a new revision,
    and records who, why and from/to in the audit log."""
    baseline = control_plane.pointer()
    experiment = control_plane.approved_experiment(control_plane.challenger_a)
    promoted = control_plane.promote(experiment.experiment_id).pointer
    response = _rollback(control_plane, "p99 latency doubled")
    now = control_plane.pointer()
    assert now.serving_version == baseline.serving_version
    assert now.manifest_sha256 == baseline.manifest_sha256
    assert now.revision == response.pointer.revision > promoted.revision
    assert now.set_by == "olga"
    assert now.reason == "rollback: p99 latency doubled"
    assert response.previous_version == promoted.serving_version
    last = control_plane.audit_entries()[-1]
    assert (last.action, last.actor) == ("rollback", "olga")
    assert last.details["from"] == promoted.serving_version
    assert last.details["to"] == baseline.serving_version
    assert last.details["reason"] == "p99 latency doubled"
    assert control_plane.verify_audit().ok


def test_rollback_to_a_named_earlier_version(control_plane: ControlPlaneHarness) -> None:
    """With baseline -> A -> B served, --to baseline skips A; a version that never served is
    FAILED_PRECONDITION listing those that did."""
    baseline = control_plane.pointer().serving_version
    first = control_plane.approved_experiment(control_plane.challenger_a)
    control_plane.promote(first.experiment_id)
    second = control_plane.approved_experiment(control_plane.challenger_b)
    control_plane.promote(second.experiment_id)
    error = rpc_error(_rollback, control_plane, "bad", "sv-0000000000000000")
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "has not served before" in details_of(error)
    assert baseline in details_of(error)
    assert first.spec.challenger_version in details_of(error)
    _rollback(control_plane, "both bad", baseline)
    assert control_plane.pointer().serving_version == baseline


def test_nothing_to_roll_back_to(control_plane: ControlPlaneHarness) -> None:
    """With only the baseline ever served, rollback is FAILED_PRECONDITION; pointer unchanged."""
    before = control_plane.pointer()
    error = rpc_error(_rollback, control_plane, "just because")
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "nothing to roll back to" in details_of(error)
    assert control_plane.pointer() == before


def test_a_refused_rollback_is_audited(control_plane: ControlPlaneHarness) -> None:
    """Every refusal leaves an audit entry (`rollback_refused`, actor, code, reason and what
    was asked): nothing to roll back to, a target that never served, an empty reason; the
    chain still verifies."""
    before = len(control_plane.audit_entries())
    rpc_error(_rollback, control_plane, "just because")
    rpc_error(_rollback, control_plane, "go back", target="sv-00000000000000ff")
    rpc_error(_rollback, control_plane, " ")
    refusals = control_plane.audit_entries()[before:]
    assert [(e.action, e.actor, e.subject) for e in refusals] == [
        ("rollback_refused", "olga", "serving-pointer"),
        ("rollback_refused", "olga", "sv-00000000000000ff"),
        ("rollback_refused", "olga", "serving-pointer"),
    ]
    assert [e.details["code"] for e in refusals] == [
        "FAILED_PRECONDITION",
        "FAILED_PRECONDITION",
        "INVALID_ARGUMENT",
    ]
    assert "nothing to roll back to" in refusals[0].details["reason"]
    assert refusals[1].details["requested_target"] == "sv-00000000000000ff"
    assert "has not served before" in refusals[1].details["reason"]
    assert refusals[0].details["requested_reason"] == "just because"
    assert control_plane.verify_audit().ok


def test_rollback_needs_operator_and_reason(control_plane: ControlPlaneHarness) -> None:
    """A reviewer's rollback is PERMISSION_DENIED; an empty reason is INVALID_ARGUMENT."""
    error = rpc_error(_rollback, control_plane, "x", by="bob")
    assert code_of(error) == grpc.StatusCode.PERMISSION_DENIED
    error = rpc_error(_rollback, control_plane, " ")
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
