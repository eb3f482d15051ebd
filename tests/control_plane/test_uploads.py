"""UploadArtifact streams bytes into the content-addressed store, checked on the way in."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.artifacts.store import sha256_hex
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error

DATA = bytes(range(256)) * 5000  # 1.28 MB, several chunks


def _requests(
    data: bytes, name: str = "model", expected: str = "", size: int | None = None
) -> Iterator[pb.UploadArtifactRequest]:
    yield pb.UploadArtifactRequest(
        header=pb.ArtifactHeader(
            name=name, expected_sha256=expected, size_bytes=len(data) if size is None else size
        )
    )
    for start in range(0, len(data), 256 * 1024):
        yield pb.UploadArtifactRequest(chunk=data[start : start + 256 * 1024])


def test_streamed_upload_lands_in_the_store(control_plane: ControlPlaneHarness) -> None:
    """Chunks arrive whole in the store under their sha256; the reply says where."""
    response = control_plane.stub.UploadArtifact(
        _requests(DATA, expected=sha256_hex(DATA)), metadata=control_plane.auth("alice")
    )
    artifact = response.artifact
    assert artifact.name == "model"
    assert artifact.sha256 == sha256_hex(DATA)
    assert artifact.size_bytes == len(DATA)
    assert control_plane.artifacts.get_bytes(artifact.sha256) == DATA
    assert artifact.uri == control_plane.artifacts.uri_of(artifact.sha256)


def test_wrong_checksum_or_size_stores_nothing(control_plane: ControlPlaneHarness) -> None:
    """Bytes that do not hash to expected_sha256, or do not add up to size_bytes, are
    INVALID_ARGUMENT and leave no blob behind."""
    data = b"some model bytes"
    wrong = sha256_hex(b"other")
    error = rpc_error(
        control_plane.stub.UploadArtifact,
        _requests(data, expected=wrong),
        metadata=control_plane.auth("alice"),
    )
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert "checksum mismatch" in details_of(error)
    error = rpc_error(
        control_plane.stub.UploadArtifact,
        _requests(data, size=len(data) + 1),
        metadata=control_plane.auth("alice"),
    )
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert "the header announced" in details_of(error)
    assert not control_plane.artifacts.exists(sha256_hex(data))


def test_upload_needs_a_header_first(control_plane: ControlPlaneHarness) -> None:
    """A stream that starts with bytes is INVALID_ARGUMENT."""
    error = rpc_error(
        control_plane.stub.UploadArtifact,
        iter([pb.UploadArtifactRequest(chunk=b"x")]),
        metadata=control_plane.auth("alice"),
    )
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert "must carry the header" in details_of(error)


def test_only_experimenters_and_operators_upload(control_plane: ControlPlaneHarness) -> None:
    """A reviewer's upload is PERMISSION_DENIED (operators upload a refresh's snapshot)."""
    error = rpc_error(
        control_plane.stub.UploadArtifact, _requests(b"x"), metadata=control_plane.auth("bob")
    )
    assert code_of(error) == grpc.StatusCode.PERMISSION_DENIED
