"""A content-addressed artifact store on the local file system.

Blobs are kept at `{root}/blobs/sha256/{hex[:2]}/{hex}`. Writes go to a
temporary file in the same directory and are renamed into place, so a blob is
either whole or absent; every read verifies the sha256 before returning bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from recmesh.artifacts.errors import (
    ArtifactChecksumError,
    ArtifactNotFoundError,
    InvalidDigestError,
)
from recmesh.artifacts.protocol import ArtifactStore, StoredBlob

__all__ = ["LocalArtifactStore", "StoredBlob", "check_digest", "sha256_hex"]

_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_digest(sha256: str) -> str:
    """Returns sha256 if it is 64 lower-case hex digits; raises InvalidDigestError otherwise."""
    if not _HEX_SHA256.match(sha256):
        raise InvalidDigestError(f"not a hex sha256 digest: {sha256!r}")
    return sha256


class LocalArtifactStore(ArtifactStore):
    """Blobs addressed by sha256 under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = root / "blobs" / "sha256"

    def path_of(self, sha256: str) -> Path:
        check_digest(sha256)
        return self._blobs / sha256[:2] / sha256

    def uri_of(self, sha256: str) -> str:
        return self.path_of(sha256).resolve().as_uri()

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def put_chunks(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredBlob:
        """Streams chunks into the store, hashing as it writes; nothing partial stays behind."""
        self._blobs.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self._blobs, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                for chunk in chunks:
                    hasher.update(chunk)
                    size += len(chunk)
                    tmp.write(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())
            digest = hasher.hexdigest()
            if expected_sha256 is not None and expected_sha256 != digest:
                raise ArtifactChecksumError(expected_sha256, digest, "upload")
            target = self.path_of(digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return StoredBlob(sha256=digest, size_bytes=size, uri=self.uri_of(digest))

    def get_bytes(self, sha256: str) -> bytes:
        """Returns the blob's bytes after checking they still hash to sha256."""
        path = self.path_of(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ArtifactNotFoundError(sha256, str(self.root)) from None
        actual = sha256_hex(data)
        if actual != sha256:
            raise ArtifactChecksumError(sha256, actual, str(path))
        return data

    def stat(self, sha256: str) -> StoredBlob:
        path = self.path_of(sha256)
        if not path.is_file():
            raise ArtifactNotFoundError(sha256, str(self.root))
        return StoredBlob(sha256=sha256, size_bytes=path.stat().st_size, uri=self.uri_of(sha256))
