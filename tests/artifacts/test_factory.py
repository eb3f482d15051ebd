"""A process's `--artifacts` location becomes the store it names."""

from __future__ import annotations

from pathlib import Path

from recmesh.artifacts.factory import open_artifact_store
from recmesh.artifacts.location import S3Location
from recmesh.artifacts.s3_store import S3ArtifactStore
from recmesh.artifacts.store import LocalArtifactStore


def test_a_directory_opens_the_local_store(tmp_path: Path) -> None:
    """A path is the local store rooted there."""
    store = open_artifact_store(tmp_path)
    assert isinstance(store, LocalArtifactStore)
    assert store.root == tmp_path


def test_an_s3_location_opens_the_bucket_from_the_aws_variables(
    s3_environ: dict[str, str], s3_location: S3Location
) -> None:
    """An S3 location is the S3 store, its credentials and endpoint taken from the
    standard AWS variables: what one process writes, another reads."""
    store = open_artifact_store(s3_location)
    assert isinstance(store, S3ArtifactStore)
    blob = store.put_bytes(b"shared bytes")
    assert open_artifact_store(s3_location).get_bytes(blob.sha256) == b"shared bytes"
    assert blob.uri.startswith(f"s3://{s3_location.bucket}/artifacts/")
