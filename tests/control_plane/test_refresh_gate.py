"""RefreshServing's gate on a real control plane: what it refuses before building anything."""

from __future__ import annotations

import grpc

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error
from tests.control_plane.rollout_rig import plan, promote_staged


def _refresh(cp: ControlPlaneHarness) -> pb.RefreshServingResponse:
    """A refresh of the current champion read at the pointer's current revision."""
    cp.stub.SetRefreshPolicy(
        pb.SetRefreshPolicyRequest(
            policy=records_pb2.RefreshPolicy(
                metric="ndcg@10",
                max_relative_drop=0.05,
                probe_users=100,
                holdout_fraction=0.2,
                seed=1,
            )
        ),
        metadata=cp.auth("olga"),
    )
    pointer = cp.pointer()
    response: pb.RefreshServingResponse = cp.stub.RefreshServing(
        pb.RefreshServingRequest(
            manifest_sha256="ab" * 32,
            base_version=pointer.serving_version,
            base_pointer_revision=pointer.revision,
            probe=records_pb2.RefreshProbe(),
        ),
        metadata=cp.auth("olga"),
    )
    return response


def test_a_refresh_during_a_shadow_is_refused_naming_the_stop_command(
    control_plane: ControlPlaneHarness,
) -> None:
    """A refresh would write the champion alone and end the shadow unrecorded: refused
    (FAILED_PRECONDITION, audited) with the command that stops the shadow."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    cp.stub.StartShadow(
        pb.StartShadowRequest(experiment_id=experiment.experiment_id, share=0.2),
        metadata=cp.auth("olga"),
    )
    error = rpc_error(_refresh, cp)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert f"stop the shadow first: recmesh shadow stop {experiment.experiment_id}" in details_of(
        error
    )
    assert cp.audit_entries()[-1].action == "refresh_refused"
    assert cp.pointer().rollout.mode == records_pb2.ROLLOUT_MODE_SHADOW


def test_a_refresh_during_a_staged_rollout_is_refused(
    control_plane: ControlPlaneHarness,
) -> None:
    """Running or paused, the rollout stays open: roll back or let it finish first."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    rollout_id = promote_staged(cp, experiment.experiment_id, plan()).rollout.rollout_id
    cp.stub.PauseRollout(
        pb.PauseRolloutRequest(experiment_id=experiment.experiment_id), metadata=cp.auth("olga")
    )
    error = rpc_error(_refresh, cp)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert f"staged rollout {rollout_id} is in progress" in details_of(error)
    assert "roll back or let the rollout finish" in details_of(error)
    assert cp.pointer().rollout.rollout_id == rollout_id
