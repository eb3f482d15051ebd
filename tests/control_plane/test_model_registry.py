"""RegisterModelVersion: verified artifacts, lineage, idempotence; Get and List."""

from __future__ import annotations

from typing import Any

import grpc

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.artifacts.store import sha256_hex
from recmesh.bundle.manifest import version_id_of
from testkit.records import DATASET_FINGERPRINT
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error


def _register(
    control_plane: ControlPlaneHarness, sha: str, lineage: records_pb2.Lineage | None = None
) -> Any:
    return control_plane.stub.RegisterModelVersion(
        pb.RegisterModelVersionRequest(manifest_sha256=sha, lineage=lineage, description="d"),
        metadata=control_plane.auth("alice"),
    )


def test_register_records_verified_artifacts_and_lineage(
    control_plane: ControlPlaneHarness,
) -> None:
    """The record names manifest, snapshot and model by sha256, its kind, the feature schema,
    the lineage (dataset filled from the manifest) and who registered it; audited."""
    bundle = control_plane.challenger_a
    response = control_plane.stub.RegisterModelVersion(
        pb.RegisterModelVersionRequest(
            manifest_sha256=bundle.manifest_sha256,
            lineage=records_pb2.Lineage(
                split="user_stratified:0.75:seed=42",
                training_params={"max_depth": "6"},
                code_revision="abc123",
            ),
        ),
        metadata=control_plane.auth("alice"),
    )
    version = response.model_version
    assert response.created
    assert version.version_id == version_id_of(bundle.manifest_sha256) == bundle.version_id
    assert version.kind == records_pb2.MODEL_KIND_XGBOOST
    assert [(a.name, a.sha256) for a in version.artifacts] == [
        ("manifest", bundle.manifest_sha256),
        ("snapshot", bundle.manifest.snapshot.sha256),
        ("model", bundle.manifest.model.sha256 if bundle.manifest.model else ""),
    ]
    assert all(a.uri.startswith("file://") for a in version.artifacts)
    assert version.feature_schema_fingerprint == "fs-toy-1"
    assert version.lineage.dataset_fingerprint == DATASET_FINGERPRINT
    assert version.lineage.training_params["max_depth"] == "6"
    assert version.registered_by == "alice"
    last = control_plane.audit_entries()[-1]
    assert (last.action, last.subject) == ("register_model", version.version_id)


def test_registering_twice_is_idempotent(control_plane: ControlPlaneHarness) -> None:
    """The same manifest again returns the first record with created=false, no new entry."""
    sha = control_plane.challenger_a.manifest_sha256
    first = _register(control_plane, sha)
    entries = len(control_plane.audit_entries())
    second = _register(control_plane, sha)
    assert second.created is False
    assert second.model_version == first.model_version
    assert len(control_plane.audit_entries()) == entries


def test_missing_or_corrupt_artifacts_are_refused(control_plane: ControlPlaneHarness) -> None:
    """A manifest not in the store, or whose snapshot is missing or altered, is
    FAILED_PRECONDITION naming the artifact; nothing is registered."""
    unknown = sha256_hex(b"no such manifest")
    error = rpc_error(_register, control_plane, unknown)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert f"manifest sha256:{unknown} is not in the artifact store" in details_of(error)

    bundle = control_plane.challenger_b
    snapshot = control_plane.artifacts.path_of(bundle.manifest.snapshot.sha256)
    snapshot.write_bytes(b"tampered")
    error = rpc_error(_register, control_plane, bundle.manifest_sha256)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "snapshot in the artifact store is corrupt" in details_of(error)
    snapshot.unlink()
    error = rpc_error(_register, control_plane, bundle.manifest_sha256)
    assert "snapshot sha256:" in details_of(error)
    listed = control_plane.stub.ListModelVersions(
        pb.ListModelVersionsRequest(), metadata=control_plane.auth("bob")
    )
    assert bundle.version_id not in [v.version_id for v in listed.model_versions]


def test_bad_requests_are_invalid_arguments(control_plane: ControlPlaneHarness) -> None:
    """A malformed digest, a blob that is not a manifest, or lineage disagreeing with the
    manifest's dataset is INVALID_ARGUMENT."""
    error = rpc_error(_register, control_plane, "not-a-digest")
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert "64 lower-case hex digits" in details_of(error)
    blob = control_plane.artifacts.put_bytes(b"just bytes")
    error = rpc_error(_register, control_plane, blob.sha256)
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert "is not a bundle manifest" in details_of(error)
    error = rpc_error(
        _register,
        control_plane,
        control_plane.challenger_a.manifest_sha256,
        records_pb2.Lineage(dataset_fingerprint="other"),
    )
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert "lineage.dataset_fingerprint is 'other'" in details_of(error)


def test_get_and_list(control_plane: ControlPlaneHarness) -> None:
    """Get returns a registered version, NOT_FOUND otherwise; List has baseline and new ones."""
    version_id = control_plane.register(control_plane.challenger_a)
    got = control_plane.stub.GetModelVersion(
        pb.GetModelVersionRequest(version_id=version_id), metadata=control_plane.auth("olga")
    )
    assert got.model_version.version_id == version_id
    error = rpc_error(
        control_plane.stub.GetModelVersion,
        pb.GetModelVersionRequest(version_id="sv-0000000000000000"),
        metadata=control_plane.auth("olga"),
    )
    assert code_of(error) == grpc.StatusCode.NOT_FOUND
    listed = control_plane.stub.ListModelVersions(
        pb.ListModelVersionsRequest(), metadata=control_plane.auth("bob")
    )
    assert [v.version_id for v in listed.model_versions] == [
        control_plane.baseline.version_id,
        version_id,
    ]
