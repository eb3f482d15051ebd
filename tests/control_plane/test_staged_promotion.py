"""Promote with a plan: refusals, the plan recorded, the first stage's pointer record."""

from __future__ import annotations

import json

import grpc

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.pointer_codec import decode_pointer
from recmesh.rollout.guardrails import MIXTURE_CS
from recmesh.signing.verify import verify_pointer
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error
from tests.control_plane.rollout_rig import (
    error_guardrail,
    latency_guardrail,
    plan,
    promote_staged,
)


def _attach(cp: ControlPlaneHarness, experiment_id: str, summary: dict[str, object]) -> None:
    cp.stub.AttachShadowReport(
        pb.AttachShadowReportRequest(
            experiment_id=experiment_id, summary_json=json.dumps(summary), report_sha256="a" * 64
        ),
        metadata=cp.auth("alice"),
    )


def test_staged_promotion_without_approval_is_refused_and_audited(
    control_plane: ControlPlaneHarness,
) -> None:
    """The promotion rule applies to a staged promotion: refused, audited as
    `promote_refused` with staged: true, pointer untouched."""
    cp = control_plane
    experiment = cp.create_experiment(cp.register(cp.challenger_a))
    cp.record(experiment)
    before = cp.pointer()
    error = rpc_error(promote_staged, cp, experiment.experiment_id, plan())
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert details_of(error) == "not enough approvals: 0 of 1"
    assert cp.pointer() == before
    entry = cp.audit_entries()[-1]
    assert (entry.action, entry.details["staged"]) == ("promote_refused", "true")


def test_an_invalid_plan_is_refused_with_what_to_fix(control_plane: ControlPlaneHarness) -> None:
    """Stages not ending at 1: INVALID_ARGUMENT naming the last stage."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    error = rpc_error(promote_staged, cp, experiment.experiment_id, plan(stages=(0.05, 0.5)))
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(error) == "the last stage must be 1 (every user), got 0.5"


def test_shadow_bounds_need_a_report_the_control_plane_computed(
    control_plane: ControlPlaneHarness,
) -> None:
    """A plan bounding the shadow diff is refused while no report is attached, and while
    the attached one is a summary the caller supplied, however well it meets the bound:
    the refusal says how to have the control plane compute it."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    bounded = plan(
        shadow_bounds=(records_pb2.ShadowDiffBound(statistic="overlap", side="min", value=0.5),)
    )
    error = rpc_error(promote_staged, cp, experiment.experiment_id, bounded)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "no shadow report is attached" in details_of(error)
    _attach(cp, experiment.experiment_id, {"overlap": {"value": 0.9, "low": 0.85, "high": 0.95}})
    error = rpc_error(promote_staged, cp, experiment.experiment_id, bounded)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "supplied by alice, not computed by the control plane" in details_of(error)
    assert (
        f"`recmesh shadow report {experiment.experiment_id} --attach` (without --impressions)"
        in details_of(error)
    )


def test_start_records_the_plan_and_names_the_challenger_at_the_first_share(
    control_plane: ControlPlaneHarness,
) -> None:
    """The rollout record (RUNNING, stage 0, the method filled in), a signed pointer record
    keeping the champion with the challenger STAGED at 0.05 and the latency threshold,
    and the `rollout_start` entry, written together."""
    cp = control_plane
    before = cp.pointer()
    experiment = cp.approved_experiment(cp.challenger_a)
    response = promote_staged(
        cp, experiment.experiment_id, plan(guardrails=(latency_guardrail(), error_guardrail()))
    )
    record = response.rollout
    assert record.status == records_pb2.ROLLOUT_STATUS_RUNNING
    assert (record.stage, record.started_by) == (0, "olga")
    assert [g.method for g in record.plan.guardrails] == [MIXTURE_CS] * 3
    assert record.plan.srm_alpha == 0.001
    stored = cp.etcd_get(cp.keys.pointer)
    assert stored is not None
    pointer = decode_pointer(*stored)
    verify_pointer(pointer, cp.trusted())
    assert pointer.serving_version == before.serving_version
    rollout = pointer.rollout
    assert rollout.mode == records_pb2.ROLLOUT_MODE_STAGED
    assert (rollout.share, rollout.stage, rollout.latency_threshold_ms) == (0.05, 0, 40.0)
    assert rollout.rollout_id == record.rollout_id
    entry = cp.audit_entries()[-1]
    assert (entry.action, entry.subject) == ("rollout_start", experiment.experiment_id)
    assert entry.details["stages"] == "0.05,0.25,1"
    assert entry.details["guardrails"] == (
        "latency_p99:0.02:threshold_ms=40 alpha=0.05; error_rate:0.01 alpha=0.05; "
        "degraded_rate:0.01 alpha=0.05"
    )
    shown = cp.stub.GetExperiment(
        pb.GetExperimentRequest(experiment_id=experiment.experiment_id),
        metadata=cp.auth("alice"),
    )
    assert shown.rollout.rollout_id == record.rollout_id


def test_a_staged_promotion_ends_a_shadow_and_a_second_one_is_refused(
    control_plane: ControlPlaneHarness,
) -> None:
    """Starting replaces the shadow record (the champion unchanged, so the evaluation
    still holds); an experiment has one staged rollout."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    cp.stub.StartShadow(
        pb.StartShadowRequest(experiment_id=experiment.experiment_id, share=0.2),
        metadata=cp.auth("olga"),
    )
    response = promote_staged(cp, experiment.experiment_id, plan())
    assert response.pointer.rollout.mode == records_pb2.ROLLOUT_MODE_STAGED
    assert cp.audit_entries()[-1].details["ended_shadow"].startswith("r-")
    error = rpc_error(promote_staged, cp, experiment.experiment_id, plan())
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "staged rollout" in details_of(error)
