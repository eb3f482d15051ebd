"""The one place a process turns its `--artifacts` location into a store."""

from __future__ import annotations

from pathlib import Path

from recmesh.artifacts.location import ArtifactsLocation
from recmesh.artifacts.protocol import ArtifactStore
from recmesh.artifacts.store import LocalArtifactStore


def open_artifact_store(location: ArtifactsLocation) -> ArtifactStore:
    """A LocalArtifactStore for a directory; an S3ArtifactStore for an S3Location, its
    client configured from the standard AWS environment variables."""
    if isinstance(location, Path):
        return LocalArtifactStore(location)
    # boto3 is imported only by processes that use a bucket (about 0.1 s and its memory).
    from recmesh.artifacts.s3_store import S3ArtifactStore, s3_client

    return S3ArtifactStore(s3_client(), location)
