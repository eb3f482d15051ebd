"""GetShadowReport (the diff from the configured impression logs) and AttachShadowReport."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import grpc

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.local_server import LocalEtcd
from tests.control_plane.harness import (
    ControlPlaneHarness,
    code_of,
    details_of,
    rpc_error,
    running_control_plane,
)
from tests.control_plane.rollout_rig import plan, promote_staged
from tests.control_plane.shadow_log import write_shadow_log


def _report(cp: ControlPlaneHarness, experiment_id: str) -> pb.GetShadowReportResponse:
    response: pb.GetShadowReportResponse = cp.stub.GetShadowReport(
        pb.GetShadowReportRequest(experiment_id=experiment_id, k=3), metadata=cp.auth("alice")
    )
    return response


def test_the_report_is_computed_from_the_configured_log(
    shared_etcd: LocalEtcd, tmp_path: Path
) -> None:
    """Overlap@3 of {1,2,3} vs {1,2,4} and {5,6,7} vs {5,6,7} is (2/3 + 1) / 2; the page
    comes back with it; another experiment's versions find no record."""
    log = tmp_path / "impressions.jsonl"
    with running_control_plane(shared_etcd, tmp_path / "cp", impressions=(log,)) as cp:
        experiment = cp.approved_experiment(cp.challenger_a)
        write_shadow_log(
            log,
            experiment.champion_version,
            experiment.spec.challenger_version,
            [([1, 2, 3], [1, 2, 4]), ([5, 6, 7], [5, 6, 7])],
        )
        response = _report(cp, experiment.experiment_id)
        summary = json.loads(response.summary_json)
        assert summary["compared"] == 2
        assert abs(summary["overlap"]["value"] - (2 / 3 + 1) / 2) < 1e-9
        assert summary["experiment_id"] == experiment.experiment_id
        assert response.report_html.startswith(b"<!DOCTYPE html>")
        other = cp.create_experiment(cp.register(cp.challenger_b))
        error = rpc_error(_report, cp, other.experiment_id)
        assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
        assert details_of(error).startswith("no shadowed request of")


def test_without_an_impression_log_the_report_is_refused(
    control_plane: ControlPlaneHarness,
) -> None:
    """FAILED_PRECONDITION saying how to compute it locally."""
    cp = control_plane
    experiment = cp.create_experiment(cp.register(cp.challenger_a))
    error = rpc_error(_report, cp, experiment.experiment_id)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "--impressions" in details_of(error)


def test_an_attached_summary_is_shown_with_the_experiment_and_audited(
    control_plane: ControlPlaneHarness,
) -> None:
    """Attached by the experimenter: GetExperiment returns it, the entry names the page's
    sha256; a summary that is not a JSON object is INVALID_ARGUMENT (and audited)."""
    cp = control_plane
    experiment = cp.create_experiment(cp.register(cp.challenger_a))
    sha = hashlib.sha256(b"<html>").hexdigest()
    cp.stub.AttachShadowReport(
        pb.AttachShadowReportRequest(
            experiment_id=experiment.experiment_id,
            summary_json=json.dumps({"requests": 12}),
            report_sha256=sha,
        ),
        metadata=cp.auth("alice"),
    )
    shown = cp.stub.GetExperiment(
        pb.GetExperimentRequest(experiment_id=experiment.experiment_id),
        metadata=cp.auth("bob"),
    )
    assert shown.shadow_report.report_sha256 == sha
    assert shown.shadow_report.attached_by == "alice"
    entry = cp.audit_entries()[-1]
    assert (entry.action, entry.details["report_sha256"]) == ("shadow_report_attached", sha)
    error = rpc_error(
        cp.stub.AttachShadowReport,
        pb.AttachShadowReportRequest(
            experiment_id=experiment.experiment_id, summary_json="[1]", report_sha256=sha
        ),
        metadata=cp.auth("alice"),
    )
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert cp.audit_entries()[-1].action == "shadow_report_attach_refused"


def test_attach_without_a_summary_computes_it_here_and_only_that_meets_bounds(
    shared_etcd: LocalEtcd, tmp_path: Path
) -> None:
    """An empty summary: the control plane computes the report from its log and records
    it as its own, with the challenger and the shadow's rollout id (audited, the page
    returned); a staged plan bounding overlap then starts on it."""
    log = tmp_path / "impressions.jsonl"
    with running_control_plane(shared_etcd, tmp_path / "cp", impressions=(log,)) as cp:
        experiment = cp.approved_experiment(cp.challenger_a)
        experiment_id = experiment.experiment_id
        shadow = cp.stub.StartShadow(
            pb.StartShadowRequest(experiment_id=experiment_id, share=0.2),
            metadata=cp.auth("olga"),
        ).pointer.rollout
        write_shadow_log(
            log,
            experiment.champion_version,
            experiment.spec.challenger_version,
            [([1, 2, 3], [1, 2, 3]), ([5, 6, 7], [5, 6, 7])],
        )
        response = cp.stub.AttachShadowReport(
            pb.AttachShadowReportRequest(experiment_id=experiment_id, k=3),
            metadata=cp.auth("alice"),
        )
        attached = response.summary
        assert attached.source == records_pb2.SHADOW_REPORT_SOURCE_CONTROL_PLANE
        assert attached.challenger_version == experiment.spec.challenger_version
        assert attached.rollout_id == shadow.rollout_id
        assert json.loads(attached.summary_json)["compared"] == 2
        assert attached.report_sha256 == hashlib.sha256(response.report_html).hexdigest()
        entry = cp.audit_entries()[-1]
        assert (entry.action, entry.details["source"]) == (
            "shadow_report_attached",
            "control_plane",
        )
        assert entry.details["rollout_id"] == shadow.rollout_id
        bounded = plan(
            shadow_bounds=(records_pb2.ShadowDiffBound(statistic="overlap", side="min", value=0.5),)
        )
        started = promote_staged(cp, experiment_id, bounded)
        assert started.rollout.status == records_pb2.ROLLOUT_STATUS_RUNNING
