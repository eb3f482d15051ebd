"""StartShadow / StopShadow: guarded like a promotion, a signed record naming the challenger."""

from __future__ import annotations

from typing import Any

import grpc

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.pointer_codec import decode_pointer
from recmesh.signing.verify import verify_pointer
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error
from tests.control_plane.rollout_rig import plan


def _start(cp: ControlPlaneHarness, experiment_id: str, share: float = 0.2) -> Any:
    return cp.stub.StartShadow(
        pb.StartShadowRequest(experiment_id=experiment_id, share=share), metadata=cp.auth("olga")
    ).pointer


def _stop(cp: ControlPlaneHarness, experiment_id: str) -> Any:
    return cp.stub.StopShadow(
        pb.StopShadowRequest(experiment_id=experiment_id, reason="enough data"),
        metadata=cp.auth("olga"),
    ).pointer


def _assert_refused(cp: ControlPlaneHarness, experiment_id: str, reason_start: str) -> None:
    before = cp.pointer()
    error = rpc_error(_start, cp, experiment_id)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert details_of(error).startswith(reason_start), details_of(error)
    assert cp.pointer() == before
    last = cp.audit_entries()[-1]
    assert (last.action, last.subject) == ("shadow_start_refused", experiment_id)
    assert last.details["reason"] == details_of(error)
    assert last.details["share"] == "0.2"


def test_shadow_without_approval_is_refused_and_audited(
    control_plane: ControlPlaneHarness,
) -> None:
    """PASS but nobody approved: refused with the approval count, pointer untouched."""
    cp = control_plane
    experiment = cp.create_experiment(cp.register(cp.challenger_a))
    cp.record(experiment)
    _assert_refused(cp, experiment.experiment_id, "not enough approvals: 0 of 1")


def test_shadow_of_a_failed_evaluation_is_refused_and_audited(
    control_plane: ControlPlaneHarness,
) -> None:
    """A FAIL verdict: refused with the evaluation's reasons."""
    cp = control_plane
    experiment = cp.create_experiment(cp.register(cp.challenger_a))
    cp.record(experiment, records_pb2.VERDICT_FAIL)
    _assert_refused(cp, experiment.experiment_id, "evaluation verdict is FAIL")


def test_shadow_share_outside_zero_one_is_invalid(control_plane: ControlPlaneHarness) -> None:
    """A share of 0 or above 1 is INVALID_ARGUMENT naming the share."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    for share in (0.0, 1.5):
        error = rpc_error(_start, cp, experiment.experiment_id, share)
        assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
        assert "share must lie in (0, 1]" in details_of(error)


def test_shadow_start_writes_a_signed_record_naming_the_challenger(
    control_plane: ControlPlaneHarness,
) -> None:
    """The new record keeps the champion, names the challenger in SHADOW at the share,
    verifies, and its audit entry is `shadow_start` with the rollout id."""
    cp = control_plane
    before = cp.pointer()
    experiment = cp.approved_experiment(cp.challenger_a)
    pointer = _start(cp, experiment.experiment_id)
    assert pointer.serving_version == before.serving_version
    assert pointer.manifest_sha256 == before.manifest_sha256
    rollout = pointer.rollout
    assert rollout.mode == records_pb2.ROLLOUT_MODE_SHADOW
    assert rollout.share == 0.2
    assert rollout.experiment_id == experiment.experiment_id
    assert rollout.challenger_version == experiment.spec.challenger_version
    assert rollout.rollout_id.startswith("r-")
    stored = cp.etcd_get(cp.keys.pointer)
    assert stored is not None
    record = decode_pointer(*stored)
    verify_pointer(record, cp.trusted())
    assert record.rollout == rollout
    entry = cp.audit_entries()[-1]
    assert (entry.action, entry.subject) == ("shadow_start", experiment.experiment_id)
    assert (record.sequence, record.audit_entry_hash) == (entry.sequence, entry.hash)
    assert entry.details["rollout_id"] == rollout.rollout_id
    assert entry.details["share"] == "0.2"


def test_shadow_stop_drops_the_challenger_and_promotion_still_applies(
    control_plane: ControlPlaneHarness,
) -> None:
    """Stopping writes the champion alone (`shadow_stop`); records that only added and
    dropped a challenger do not count as a new champion, so the evaluation still allows
    the promotion, and stopping again is refused."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    _start(cp, experiment.experiment_id)
    stopped = _stop(cp, experiment.experiment_id)
    assert not stopped.HasField("rollout")
    assert cp.audit_entries()[-1].action == "shadow_stop"
    error = rpc_error(_stop, cp, experiment.experiment_id)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "is not in shadow" in details_of(error)
    assert cp.audit_entries()[-1].action == "shadow_stop_refused"
    promoted = cp.promote(experiment.experiment_id).pointer
    assert promoted.serving_version == experiment.spec.challenger_version


def test_promotion_during_a_shadow_ends_it(control_plane: ControlPlaneHarness) -> None:
    """An unstaged Promote writes the challenger alone: the shadow is over."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    _start(cp, experiment.experiment_id)
    promoted = cp.promote(experiment.experiment_id).pointer
    assert not promoted.HasField("rollout")


def test_non_operators_may_not_start_a_shadow(control_plane: ControlPlaneHarness) -> None:
    """The role table: alice (experimenter) is denied."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    error = rpc_error(
        cp.stub.StartShadow,
        pb.StartShadowRequest(experiment_id=experiment.experiment_id, share=0.2),
        metadata=cp.auth("alice"),
    )
    assert code_of(error) == grpc.StatusCode.PERMISSION_DENIED


def test_rollback_during_a_shadow_keeps_the_champion(control_plane: ControlPlaneHarness) -> None:
    """Without a target, a rollback drops the challenger and keeps the champion."""
    cp = control_plane
    before = cp.pointer()
    experiment = cp.approved_experiment(cp.challenger_a)
    _start(cp, experiment.experiment_id)
    response = cp.stub.Rollback(pb.RollbackRequest(reason="cpu"), metadata=cp.auth("olga"))
    assert response.pointer.serving_version == before.serving_version
    assert not response.pointer.HasField("rollout")


def test_records_that_only_named_a_challenger_are_no_rollback_target(
    control_plane: ControlPlaneHarness,
) -> None:
    """Baseline -> A promoted; a shadow of B started and stopped beside A; a rollback
    goes back to the baseline, not to one of A's own records."""
    cp = control_plane
    baseline = cp.pointer().serving_version
    first = cp.approved_experiment(cp.challenger_a)
    cp.promote(first.experiment_id)
    second = cp.approved_experiment(cp.challenger_b)
    _start(cp, second.experiment_id)
    _stop(cp, second.experiment_id)
    response = cp.stub.Rollback(pb.RollbackRequest(reason="regret"), metadata=cp.auth("olga"))
    assert response.pointer.serving_version == baseline
    assert response.previous_version == first.spec.challenger_version


def test_promoting_another_experiment_during_a_shadow_is_refused(
    control_plane: ControlPlaneHarness,
) -> None:
    """The shadow would end without `shadow_stop`: Promote and a staged Promote of
    another experiment are refused with the command that stops it; its own promotion
    ends it and names it in the entry."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    _start(cp, experiment.experiment_id)
    other = cp.approved_experiment(cp.challenger_b)
    error = rpc_error(cp.promote, other.experiment_id)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert f"stop the shadow first: recmesh shadow stop {experiment.experiment_id}" in details_of(
        error
    )
    error = rpc_error(
        cp.stub.Promote,
        pb.PromoteRequest(experiment_id=other.experiment_id, plan=plan()),
        metadata=cp.auth("olga"),
    )
    assert "stop the shadow first" in details_of(error)
    assert cp.pointer().rollout.experiment_id == experiment.experiment_id
    cp.promote(experiment.experiment_id)
    assert cp.audit_entries()[-1].details["ended_shadow"].startswith("r-")
