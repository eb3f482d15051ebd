"""The local artifact store keeps blobs whole, addressed and verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from recmesh.artifacts.errors import (
    ArtifactChecksumError,
    ArtifactNotFoundError,
    InvalidDigestError,
)
from recmesh.artifacts.store import LocalArtifactStore, sha256_hex


def test_put_then_get_returns_the_same_bytes(tmp_path: Path) -> None:
    """A stored blob reads back byte for byte under its sha256."""
    store = LocalArtifactStore(tmp_path)
    blob = store.put_bytes(b"model bytes")
    assert blob.sha256 == sha256_hex(b"model bytes")
    assert blob.size_bytes == 11
    assert store.get_bytes(blob.sha256) == b"model bytes"
    assert blob.uri.startswith("file://")


def test_streamed_chunks_hash_like_the_whole(tmp_path: Path) -> None:
    """put_chunks stores the concatenation and hashes it as it writes."""
    store = LocalArtifactStore(tmp_path)
    blob = store.put_chunks([b"ab", b"cd", b""])
    assert blob.sha256 == sha256_hex(b"abcd")


def test_upload_with_wrong_expected_digest_leaves_nothing(tmp_path: Path) -> None:
    """A checksum mismatch on upload raises and leaves no blob or temp file behind."""
    store = LocalArtifactStore(tmp_path)
    with pytest.raises(ArtifactChecksumError):
        store.put_chunks([b"data"], expected_sha256=sha256_hex(b"other"))
    assert not store.exists(sha256_hex(b"data"))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_corrupted_blob_is_refused_on_read(tmp_path: Path) -> None:
    """A blob edited on disk fails verification instead of being returned."""
    store = LocalArtifactStore(tmp_path)
    blob = store.put_bytes(b"original")
    store.path_of(blob.sha256).write_bytes(b"tampered")
    with pytest.raises(ArtifactChecksumError, match="checksum mismatch"):
        store.get_bytes(blob.sha256)


def test_missing_blob_and_bad_digest_are_typed_errors(tmp_path: Path) -> None:
    """Unknown digests raise ArtifactNotFoundError; malformed ones InvalidDigestError."""
    store = LocalArtifactStore(tmp_path)
    with pytest.raises(ArtifactNotFoundError):
        store.get_bytes("0" * 64)
    with pytest.raises(InvalidDigestError):
        store.get_bytes("../../etc/passwd")
