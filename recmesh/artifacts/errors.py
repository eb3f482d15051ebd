"""Typed errors of the artifact store."""

from __future__ import annotations


class ArtifactError(Exception):
    """Base class of artifact store errors."""


class ArtifactNotFoundError(ArtifactError):
    """No artifact with that sha256 is in the store."""

    def __init__(self, sha256: str, where: str) -> None:
        super().__init__(f"artifact sha256:{sha256} not found in {where}")
        self.sha256 = sha256


class ArtifactChecksumError(ArtifactError):
    """The bytes read or received do not hash to the expected sha256."""

    def __init__(self, expected: str, actual: str, what: str) -> None:
        super().__init__(
            f"{what}: checksum mismatch, expected sha256:{expected}, got sha256:{actual}"
        )
        self.expected = expected
        self.actual = actual


class InvalidDigestError(ArtifactError, ValueError):
    """A string that should be a hex sha256 is not."""


class ArtifactStoreUnavailableError(ArtifactError):
    """The store could not be reached or refused the request, after its retries (an S3
    endpoint down or throttling for longer than the retries last, a missing bucket,
    credentials it refuses)."""
