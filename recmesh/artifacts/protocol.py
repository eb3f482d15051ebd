"""What every artifact store does: the contract the control plane, the services and the
offline runner rely on, whichever store (`open_artifact_store`) they were given."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from recmesh.artifacts.errors import ArtifactChecksumError


@dataclass(frozen=True)
class StoredBlob:
    """Where a blob is and what it is."""

    sha256: str
    size_bytes: int
    uri: str


class ArtifactStore(Protocol):
    """Blobs addressed by the sha256 of their bytes.

    A blob is either whole or absent: a write that fails or does not match its expected
    sha256 leaves nothing readable behind. Every read hashes the bytes and raises
    ArtifactChecksumError when they do not match the address; a blob that is not there
    raises ArtifactNotFoundError; a store that cannot be used (after its retries)
    raises ArtifactStoreUnavailableError, or OSError for a local directory. Writes are
    idempotent.
    """

    def uri_of(self, sha256: str) -> str:
        """Where the blob lives (`file://...`, `s3://...`), for records and people."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def stat(self, sha256: str) -> StoredBlob:
        """The blob's size and address (bytes not read); ArtifactNotFoundError if absent."""
        ...

    def put_bytes(self, data: bytes, expected_sha256: str | None = None) -> StoredBlob:
        """Stores data (idempotently) and returns its address (the stores subclass this
        protocol for this method)."""
        digest = hashlib.sha256(data).hexdigest()
        if expected_sha256 is not None and expected_sha256 != digest:
            raise ArtifactChecksumError(expected_sha256, digest, "upload")
        return self.put_chunks([data], expected_sha256=digest)

    def put_chunks(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredBlob:
        """Streams chunks into the store, hashing as it writes; ArtifactChecksumError
        (and nothing stored) when expected_sha256 is given and the bytes differ."""
        ...

    def get_bytes(self, sha256: str) -> bytes:
        """The blob's bytes, after checking they hash to sha256."""
        ...
