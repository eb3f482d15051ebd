"""Attacks on the promotion gate, tried as a user with a valid token would: a PASS the
evidence does not support, one person in both roles, refusals that leave no trace, and
keys written under the audit prefix behind the control plane's back.

(The rules themselves are pinned one by one in tests/control_plane/; this tries each
attack end to end and prints what was sent and what held, for docs/reliability.md.)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.local_server import LocalEtcd
from testkit.records import restate
from tests.control_plane.harness import (
    ControlPlaneHarness,
    code_of,
    details_of,
    rpc_error,
    running_control_plane,
)
from tests.reliability.load import report

APPROVE = records_pb2.REVIEW_VERDICT_APPROVE


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneHarness]:
    if shutil.which("etcd") is None:
        pytest.fail("etcd is not installed; run `make setup` (it installs etcd-server)")
    directory = Path(tmp_path_factory.mktemp("gate-attacks"))
    etcd = LocalEtcd(data_dir=directory / "etcd")
    etcd.start()
    try:
        etcd.secure(directory / "etcd-credentials")
        with running_control_plane(etcd, directory) as harness:
            yield harness
    finally:
        etcd.stop()


def _record_as(
    control_plane: ControlPlaneHarness, name: str, evaluation: records_pb2.Evaluation
) -> records_pb2.Evaluation:
    response = control_plane.stub.RecordEvaluation(
        pb.RecordEvaluationRequest(evaluation=evaluation), metadata=control_plane.auth(name)
    )
    recorded: records_pb2.Evaluation = response.evaluation
    return recorded


def _forged_passes(evaluation: records_pb2.Evaluation) -> dict[str, records_pb2.Evaluation]:
    """The honest PASS altered three ways, each still declaring PASS."""
    forged: dict[str, records_pb2.Evaluation] = {}
    bare = records_pb2.Evaluation()
    bare.CopyFrom(evaluation)
    del bare.evidence[:], bare.deltas[:], bare.arms[:]
    forged["no evidence, no deltas"] = bare
    below = records_pb2.Evaluation()
    below.CopyFrom(evaluation)
    restate(below, "ndcg@10", challenger=0.25, ci_low=-0.08, ci_high=-0.02)
    forged["ndcg@10 interval entirely below zero"] = below
    few = records_pb2.Evaluation()
    few.CopyFrom(evaluation)
    for item in few.evidence:
        item.resamples = 50
    forged["50 resamples (rule: 1,000)"] = few
    return forged


def test_a_pass_the_evidence_does_not_support_is_never_recorded(
    control_plane: ControlPlaneHarness,
) -> None:
    """Each forged PASS is INVALID_ARGUMENT naming ndcg@10 and audited; the experiment stays
    CREATED and Promote finds no evaluation; the honest PASS is recorded afterwards."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    for what, evaluation in _forged_passes(control_plane.evaluation(experiment)).items():
        error = rpc_error(_record_as, control_plane, "alice", evaluation)
        assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
        assert "ndcg@10" in details_of(error)
        assert control_plane.audit_entries()[-1].action == "record_evaluation_refused"
        report("gate: forged PASS", f"{what}: INVALID_ARGUMENT: {details_of(error)[:90]}...")
    refusal = rpc_error(control_plane.promote, experiment.experiment_id)
    assert "no evaluation recorded" in details_of(refusal)
    assert _record_as(control_plane, "alice", control_plane.evaluation(experiment)).verdict == (
        records_pb2.VERDICT_PASS
    )


def test_one_person_in_both_roles_cannot_pass_the_gate_alone(
    control_plane: ControlPlaneHarness,
) -> None:
    """erin, experimenter and reviewer, records the PASS of alice's experiment and approves
    it; she also creates one of her own and approves it. Both approvals are PERMISSION_DENIED
    and audited, and Promote says not enough approvals until bob approves."""
    theirs = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    _record_as(control_plane, "erin", control_plane.evaluation(theirs))
    own = control_plane.create_experiment(
        control_plane.register(control_plane.challenger_b), by="erin"
    )
    control_plane.record(own)
    for experiment, duty in ((theirs, "recorded the evaluation of"), (own, "submitted")):
        error = rpc_error(control_plane.review, experiment.experiment_id, "erin", APPROVE)
        assert code_of(error) == grpc.StatusCode.PERMISSION_DENIED
        assert f"erin {duty} experiment" in details_of(error)
        assert control_plane.audit_entries()[-1].action == "review_refused"
        refusal = rpc_error(control_plane.promote, experiment.experiment_id)
        assert "not enough approvals: 0 of 1" in details_of(refusal)
        report("gate: both roles", f"erin {duty}: PERMISSION_DENIED, promote refused")
    assert control_plane.approve(theirs.experiment_id, "bob").state == (
        records_pb2.EXPERIMENT_STATE_APPROVED
    )


def test_refused_rollbacks_and_foreign_audit_keys_leave_a_trace(
    control_plane: ControlPlaneHarness,
) -> None:
    """A rollback to a version that never served is refused and audited; a key written under
    the audit prefix behind the control plane's back is named by VerifyAuditLog, not an
    UNKNOWN error."""
    error = rpc_error(
        control_plane.stub.Rollback,
        pb.RollbackRequest(reason="sneak it in", target_version="sv-00000000000000ff"),
        metadata=control_plane.auth("olga"),
    )
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    entry = control_plane.audit_entries()[-1]
    assert (entry.action, entry.actor, entry.subject) == (
        "rollback_refused",
        "olga",
        "sv-00000000000000ff",
    )
    assert control_plane.verify_audit().ok
    report("gate: rollback", f"refused and audited as entry {entry.sequence}")
    foreign = control_plane.keys.audit_entries_prefix.removesuffix("entries/") + "backdoor"
    control_plane.etcd_put(foreign, b"anything")
    verdict = control_plane.verify_audit()
    assert not verdict.ok
    assert f"foreign key {foreign}" in verdict.problem
    report("gate: audit prefix", f"VerifyAuditLog ok=False: {verdict.problem[:80]}...")
