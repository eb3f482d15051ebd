"""A content-addressed artifact store in an S3-compatible bucket.

Blobs are kept at `{prefix}/blobs/sha256/{hex[:2]}/{hex}`, the local store's layout.
Uploads stream: bytes are sent in parts of `part_size` as they come, so at most one
part is held in memory; a blob smaller than one part goes in one PutObject. S3 makes
an object visible only when its PutObject or CompleteMultipartUpload succeeds, so a
blob is whole or absent, as in the local store. When the sha256 is not known before
the bytes are (an upload without an expected digest), the parts go to a staging key
`{prefix}/uploads/{uuid}`, are copied to the blob's key once hashed, and the staging
object is deleted; a crash can leave staging objects and incomplete multipart uploads
behind, for a bucket lifecycle rule on `uploads/` to expire.

Every read streams the object and hashes it as it arrives; the bytes are returned
only when they hash to the address (ArtifactChecksumError otherwise).

Retries: botocore's `standard` mode retries throttling (SlowDown, 503), 5xx and
connection errors with exponential backoff and jitter, up to `max_attempts` per
request. A download that breaks after its response started (botocore does not retry
the body) is resumed from the byte it reached with a Range request, with backoff, up
to `read_attempts` times.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import boto3
import structlog
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.response import StreamingBody

from recmesh.artifacts.errors import (
    ArtifactChecksumError,
    ArtifactNotFoundError,
    ArtifactStoreUnavailableError,
)
from recmesh.artifacts.location import S3Location
from recmesh.artifacts.protocol import ArtifactStore, StoredBlob
from recmesh.artifacts.store import check_digest

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

log = structlog.get_logger("recmesh.artifacts.s3")

#: S3's smallest part (every part but the last must be at least this large).
MIN_PART_SIZE = 5 * 1024 * 1024
DEFAULT_PART_SIZE = 8 * 1024 * 1024
#: Attempts of one request under botocore's retry mode, the first included.
DEFAULT_MAX_ATTEMPTS = 6
#: Attempts to read one object's body to the end (resuming where it broke).
DEFAULT_READ_ATTEMPTS = 4
_READ_CHUNK = 1024 * 1024
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_BODY_ERRORS = (
    ResponseStreamingError,
    IncompleteReadError,
    ReadTimeoutError,
    ConnectionClosedError,
)


def s3_client(max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> S3Client:
    """An S3 client configured the standard AWS way: credentials, region and endpoint
    from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
    AWS_REGION, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for a non-AWS server, or a
    profile), retrying in botocore's `standard` mode."""
    config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=30,
    )
    return boto3.session.Session().client("s3", config=config)


class S3ArtifactStore(ArtifactStore):
    """Blobs addressed by sha256 under one prefix of one bucket (the bucket must exist)."""

    def __init__(
        self,
        client: S3Client,
        location: S3Location,
        *,
        part_size: int = DEFAULT_PART_SIZE,
        read_attempts: int = DEFAULT_READ_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        self.location = location
        self._client = client
        self._bucket = location.bucket
        self._part_size = part_size
        self._read_attempts = read_attempts
        self._sleep = sleep

    def key_of(self, sha256: str) -> str:
        check_digest(sha256)
        return self.location.key(f"blobs/sha256/{sha256[:2]}/{sha256}")

    def uri_of(self, sha256: str) -> str:
        return f"s3://{self._bucket}/{self.key_of(sha256)}"

    def exists(self, sha256: str) -> bool:
        try:
            self.stat(sha256)
        except ArtifactNotFoundError:
            return False
        return True

    def stat(self, sha256: str) -> StoredBlob:
        key = self.key_of(sha256)
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, sha256, "head") from exc
        return StoredBlob(sha256=sha256, size_bytes=head["ContentLength"], uri=self.uri_of(sha256))

    def put_chunks(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredBlob:
        """Streams chunks into the bucket part by part, hashing as it sends; nothing
        partial stays readable."""
        if expected_sha256 is not None:
            check_digest(expected_sha256)
        hasher = hashlib.sha256()
        parts = _parts(chunks, self._part_size, hasher)
        first = next(parts, b"")
        second = next(parts, None)
        try:
            if second is None:
                digest = hasher.hexdigest()
                _check_upload(expected_sha256, digest)
                self._client.put_object(Bucket=self._bucket, Key=self.key_of(digest), Body=first)
                return StoredBlob(digest, len(first), self.uri_of(digest))
            target = (
                self.key_of(expected_sha256)
                if expected_sha256 is not None
                else self.location.key(f"uploads/{uuid.uuid4().hex}")
            )
            size = self._multipart(target, [first, second], parts, hasher, expected_sha256)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, None, "upload") from exc
        digest = hasher.hexdigest()
        if expected_sha256 is None:
            self._move_into_place(target, digest)
        return StoredBlob(digest, size, self.uri_of(digest))

    def get_bytes(self, sha256: str) -> bytes:
        """Streams the object, hashing it as it arrives, and returns its bytes only when
        they hash to sha256."""
        key = self.key_of(sha256)
        hasher = hashlib.sha256()
        data = bytearray()
        for attempt in range(1, self._read_attempts + 1):
            try:
                for chunk in self._body(key, len(data)).iter_chunks(_READ_CHUNK):
                    hasher.update(chunk)
                    data += chunk
                break
            except _BODY_ERRORS as exc:
                if attempt == self._read_attempts:
                    raise self._translate(exc, sha256, "download") from exc
                log.warning(
                    "artifact_download_resumed",
                    uri=self.uri_of(sha256),
                    received_bytes=len(data),
                    attempt=attempt,
                    error=str(exc),
                )
                self._sleep(_backoff(attempt))
            except (ClientError, BotoCoreError) as exc:
                raise self._translate(exc, sha256, "download") from exc
        actual = hasher.hexdigest()
        if actual != sha256:
            raise ArtifactChecksumError(sha256, actual, self.uri_of(sha256))
        return bytes(data)

    def _body(self, key: str, offset: int) -> StreamingBody:
        """The object's body from offset on (a resumed read asks only for what is missing;
        the first asks for no range, which an empty object could not satisfy)."""
        if offset == 0:
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
        return self._client.get_object(Bucket=self._bucket, Key=key, Range=f"bytes={offset}-")[
            "Body"
        ]

    def _multipart(
        self,
        key: str,
        head: list[bytes],
        rest: Iterator[bytes],
        hasher: hashlib._Hash,
        expected_sha256: str | None,
    ) -> int:
        """Sends head and rest as the parts of one multipart upload to key and completes
        it only when the bytes hash to expected_sha256 (if given); aborts it otherwise."""
        upload_id = self._client.create_multipart_upload(Bucket=self._bucket, Key=key)["UploadId"]
        size = 0
        completed: list[CompletedPartTypeDef] = []
        try:
            for number, body in enumerate(_chain(head, rest), start=1):
                sent = self._client.upload_part(
                    Bucket=self._bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                )
                part: CompletedPartTypeDef = {"ETag": sent["ETag"], "PartNumber": number}
                if "ChecksumCRC32" in sent:
                    part["ChecksumCRC32"] = sent["ChecksumCRC32"]
                completed.append(part)
                size += len(body)
            _check_upload(expected_sha256, hasher.hexdigest())
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": completed},
            )
        except BaseException:
            self._abort(key, upload_id)
            raise
        return size

    def _move_into_place(self, staging: str, digest: str) -> None:
        """Copies the staged upload to the blob's key (unless the blob is there already)
        and deletes the staging object."""
        try:
            if not self.exists(digest):
                self._client.copy(
                    {"Bucket": self._bucket, "Key": staging}, self._bucket, self.key_of(digest)
                )
            self._client.delete_object(Bucket=self._bucket, Key=staging)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, digest, "upload") from exc

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
        except (ClientError, BotoCoreError) as exc:
            # The upload's own error is the one to raise; the parts left behind are
            # invisible and expire under the bucket's lifecycle rule.
            log.warning(
                "multipart_abort_failed",
                bucket=self._bucket,
                key=key,
                upload_id=upload_id,
                error=str(exc),
            )

    def _translate(
        self, exc: ClientError | BotoCoreError, sha256: str | None, action: str
    ) -> Exception:
        """ArtifactNotFoundError for a missing object, ArtifactStoreUnavailableError for
        everything else the store answered (or failed to) after its retries."""
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
        if sha256 is not None and code in _NOT_FOUND_CODES:
            return ArtifactNotFoundError(sha256, str(self.location))
        what = f"sha256:{sha256}" if sha256 is not None else "an artifact"
        return ArtifactStoreUnavailableError(f"{action} of {what} in {self.location} failed: {exc}")


def _parts(chunks: Iterable[bytes], part_size: int, hasher: hashlib._Hash) -> Iterator[bytes]:
    """The bytes of chunks regrouped into parts of exactly part_size (the last shorter),
    hashed into hasher as they are read."""
    buffer = bytearray()
    for chunk in chunks:
        hasher.update(chunk)
        buffer += chunk
        while len(buffer) >= part_size:
            yield bytes(buffer[:part_size])
            del buffer[:part_size]
    if buffer:
        yield bytes(buffer)


def _chain(head: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from head
    yield from rest


def _check_upload(expected_sha256: str | None, digest: str) -> None:
    if expected_sha256 is not None and expected_sha256 != digest:
        raise ArtifactChecksumError(expected_sha256, digest, "upload")


def _backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: up to 0.2 s, 0.4 s, 0.8 s, ... capped at 5 s."""
    return random.uniform(0, min(5.0, 0.2 * 2 ** (attempt - 1)))
