"""Every pointer the control plane writes is a signed record; a pointer written behind it
is reported as damaged, never trusted, never a rollback target, and a rollback repairs it."""

from __future__ import annotations

import hashlib

import grpc

from control_plane.bootstrap import BootstrapResult, bootstrap_baseline
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.etcd.pointer_codec import decode_pointer, encode_pointer
from recmesh.signing.verify import verify_pointer
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error
from tests.pointer_signing import PointerKey


def _stored(cp: ControlPlaneHarness) -> tuple[bytes, int]:
    stored = cp.etcd_get(cp.keys.pointer)
    assert stored is not None
    return stored


def _rollback(cp: ControlPlaneHarness, reason: str, target: str = "") -> pb.RollbackResponse:
    response: pb.RollbackResponse = cp.stub.Rollback(
        pb.RollbackRequest(reason=reason, target_version=target), metadata=cp.auth("olga")
    )
    return response


def test_a_promotion_writes_a_record_signed_over_its_audit_entry(
    control_plane: ControlPlaneHarness,
) -> None:
    """The promoted record verifies with the control plane's public key; its sequence and
    audit_entry_hash are those of the `promote` entry, it names the revision it replaced
    and the evaluation, and the same bytes are kept under serving/records/."""
    cp = control_plane
    before = cp.pointer()
    experiment = cp.approved_experiment(cp.challenger_a)
    cp.promote(experiment.experiment_id)
    value, revision = _stored(cp)
    record = decode_pointer(value, revision)
    verify_pointer(record, cp.trusted())
    entry = cp.audit_entries()[-1]
    assert entry.action == "promote"
    assert (record.sequence, record.audit_entry_hash) == (entry.sequence, entry.hash)
    assert record.replaces_revision == before.revision
    assert record.experiment_id == experiment.experiment_id
    evaluation = cp.etcd_get(cp.keys.evaluation(experiment.experiment_id))
    assert evaluation is not None
    assert record.evaluation_sha256 == hashlib.sha256(evaluation[0]).hexdigest()
    kept = cp.etcd_get(cp.keys.pointer_record(record.sequence))
    assert kept is not None
    assert kept[0] == value
    assert before.sequence < record.sequence


def test_a_rollback_is_a_new_record_with_a_higher_sequence(
    control_plane: ControlPlaneHarness,
) -> None:
    """Rolling back names the older version in a new record whose sequence is above the
    one it replaces (a serving process accepts it; it would refuse the old record)."""
    cp = control_plane
    baseline = cp.pointer()
    promoted = cp.promote(cp.approved_experiment(cp.challenger_a).experiment_id).pointer
    rolled = _rollback(cp, "p99 doubled").pointer
    assert rolled.serving_version == baseline.serving_version
    assert baseline.sequence < promoted.sequence < rolled.sequence
    verify_pointer(decode_pointer(*_stored(cp)), cp.trusted())


def test_garbage_at_the_pointer_key_is_reported_and_repaired_by_rollback(
    control_plane: ControlPlaneHarness,
) -> None:
    """Bytes that are no record, written straight into etcd: GetPointer names the key and
    the problem with the last signed record, audit --verify names it, Promote is refused
    (and CreateExperiment is DATA_LOSS naming the key), and `Rollback(target)` writes a
    new signed record, audited as a repair."""
    cp = control_plane
    baseline = cp.pointer()
    experiment = cp.approved_experiment(cp.challenger_a)
    cp.etcd_put(cp.keys.pointer, b'{"servingVersion": ')
    response = cp.stub.GetPointer(pb.GetPointerRequest(), metadata=cp.auth("serving"))
    assert response.damaged.key == cp.keys.pointer
    assert "not ServingPointer JSON" in response.damaged.problem
    assert response.pointer.serving_version == baseline.serving_version
    verified = cp.verify_audit()
    assert not verified.ok
    assert f"damaged record {cp.keys.pointer}" in verified.problem
    error = rpc_error(cp.promote, experiment.experiment_id)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "damaged" in details_of(error)
    error = rpc_error(cp.create_experiment, cp.register(cp.challenger_b))
    assert code_of(error) == grpc.StatusCode.DATA_LOSS
    assert cp.keys.pointer in details_of(error)
    repaired = _rollback(cp, "garbage written behind the control plane", baseline.serving_version)
    assert repaired.pointer.serving_version == baseline.serving_version
    assert repaired.previous_version == "damaged"
    assert not cp.stub.GetPointer(
        pb.GetPointerRequest(), metadata=cp.auth("serving")
    ).HasField("damaged")
    entry = cp.audit_entries()[-1]
    assert entry.action == "rollback"
    assert entry.details["repaired"].startswith(cp.keys.pointer)
    assert cp.verify_audit().ok


def test_a_forged_record_is_damaged_and_never_a_rollback_target(
    control_plane: ControlPlaneHarness,
) -> None:
    """A well-formed record signed by another key, written as the pointer, is reported as
    damaged (unknown key); after the repair it is not in the history, so a rollback to
    its version is refused: the control plane never re-signs what it did not sign."""
    cp = control_plane
    baseline = cp.pointer()
    promoted = cp.promote(cp.approved_experiment(cp.challenger_a).experiment_id).pointer
    forged = PointerKey.generate().signed("sv-ffffffffffffffff", "00" * 32, sequence=10**9)
    cp.etcd_put(cp.keys.pointer, encode_pointer(forged))
    response = cp.stub.GetPointer(pb.GetPointerRequest(), metadata=cp.auth("serving"))
    assert "which is not trusted here" in response.damaged.problem
    assert response.pointer.serving_version == promoted.serving_version
    repaired = _rollback(cp, "forged pointer")
    assert repaired.pointer.serving_version == promoted.serving_version
    assert repaired.pointer.sequence < forged.sequence
    error = rpc_error(_rollback, cp, "to the forged one", "sv-ffffffffffffffff")
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "has not served before" in details_of(error)
    _rollback(cp, "back to the baseline", baseline.serving_version)
    assert cp.pointer().serving_version == baseline.serving_version


def _bootstrap_again(cp: ControlPlaneHarness) -> BootstrapResult:
    """What `recmesh up` does on every start: register the baseline, initialise the pointer."""
    return bootstrap_baseline(
        [cp.etcd_endpoint],
        cp.artifacts.root,
        cp.baseline.manifest_sha256,
        prefix=cp.keys.prefix,
        signing_key=cp.signing_key.private,
        credentials=cp.etcd_passwords.control_plane,
    )


def test_a_genuine_older_record_written_back_is_replayed_damage(
    control_plane: ControlPlaneHarness,
) -> None:
    """The baseline's own signed record written back over a promoted pointer, as root:
    GetPointer reports it as "replayed" with the promoted record, audit --verify names it,
    CreateExperiment is DATA_LOSS and Promote refused (the baseline is not the champion),
    and Rollback with no target restores the promoted version."""
    cp = control_plane
    baseline = cp.pointer()
    experiment = cp.approved_experiment(cp.challenger_a)
    promoted = cp.promote(experiment.experiment_id).pointer
    old = cp.etcd_get(cp.keys.pointer_record(baseline.sequence))
    assert old is not None
    second = cp.approved_experiment(cp.challenger_b)
    cp.etcd_put(cp.keys.pointer, old[0])
    response = cp.stub.GetPointer(pb.GetPointerRequest(), metadata=cp.auth("serving"))
    assert response.damaged.key == cp.keys.pointer
    assert response.damaged.problem.startswith("replayed: ")
    assert f"sequence {baseline.sequence})" in response.damaged.problem
    assert response.pointer.serving_version == promoted.serving_version
    verified = cp.verify_audit()
    assert not verified.ok
    assert "replayed" in verified.problem
    error = rpc_error(cp.create_experiment, cp.register(cp.challenger_b))
    assert code_of(error) == grpc.StatusCode.DATA_LOSS
    assert "replayed" in details_of(error)
    error = rpc_error(cp.promote, second.experiment_id)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    repaired = _rollback(cp, "an old record written back")
    assert repaired.pointer.serving_version == promoted.serving_version
    assert repaired.previous_version == "damaged"
    assert repaired.pointer.sequence > promoted.sequence
    assert cp.audit_entries()[-1].details["repaired"].startswith(f"{cp.keys.pointer}: replayed")
    assert cp.verify_audit().ok


def test_a_deleted_pointer_is_missing_and_bootstrap_signs_no_baseline(
    control_plane: ControlPlaneHarness,
) -> None:
    """The pointer key deleted as root after a promotion: GetPointer reports it "missing"
    with the promoted record, the bootstrap of the next `recmesh up` reports the damage
    instead of signing a fresh baseline, and `Rollback(target)` repairs it."""
    cp = control_plane
    baseline = cp.pointer()
    promoted = cp.promote(cp.approved_experiment(cp.challenger_a).experiment_id).pointer
    cp.etcd_delete(cp.keys.pointer)
    response = cp.stub.GetPointer(pb.GetPointerRequest(), metadata=cp.auth("serving"))
    assert response.damaged.key == cp.keys.pointer
    assert response.damaged.problem.startswith("missing: ")
    assert response.pointer.serving_version == promoted.serving_version
    result = _bootstrap_again(cp)
    assert not result.pointer_initialized
    assert result.pointer is None
    assert result.damaged is not None
    assert result.damaged.problem.startswith("missing: ")
    assert cp.etcd_get(cp.keys.pointer) is None
    assert "missing" in cp.verify_audit().problem
    repaired = _rollback(cp, "pointer deleted", promoted.serving_version)
    assert repaired.pointer.serving_version == promoted.serving_version
    assert cp.pointer().serving_version == promoted.serving_version
    assert baseline.serving_version != promoted.serving_version
    assert cp.verify_audit().ok
