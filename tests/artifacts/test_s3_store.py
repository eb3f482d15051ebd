"""The S3 artifact store, against a real S3-compatible server (SeaweedFS on loopback):
blobs whole, addressed and verified on every read, uploads streamed in parts, throttling
and broken downloads retried."""

from __future__ import annotations

import os

import pytest

from recmesh.artifacts.errors import (
    ArtifactChecksumError,
    ArtifactNotFoundError,
    ArtifactStoreUnavailableError,
)
from recmesh.artifacts.location import S3Location
from recmesh.artifacts.s3_store import MIN_PART_SIZE, S3ArtifactStore, s3_client
from recmesh.artifacts.store import sha256_hex
from tests.artifacts.faulty_s3_proxy import Faults, faulty_s3_proxy
from tests.s3_fixtures import SeaweedS3


@pytest.fixture
def store(seaweed_s3: SeaweedS3, s3_location: S3Location) -> S3ArtifactStore:
    return S3ArtifactStore(seaweed_s3.client(), s3_location, part_size=MIN_PART_SIZE)


def _keys(seaweed_s3: SeaweedS3, location: S3Location, under: str) -> list[str]:
    listed = seaweed_s3.client().list_objects_v2(Bucket=location.bucket, Prefix=location.key(under))
    return [item["Key"] for item in listed.get("Contents", [])]


def test_put_then_get_returns_the_same_bytes(store: S3ArtifactStore) -> None:
    """A stored blob reads back byte for byte under its sha256, at the local store's layout
    under the prefix."""
    blob = store.put_bytes(b"model bytes")
    assert blob.sha256 == sha256_hex(b"model bytes")
    assert blob.size_bytes == 11
    assert blob.uri == (
        f"s3://{store.location.bucket}/artifacts/blobs/sha256/{blob.sha256[:2]}/{blob.sha256}"
    )
    assert store.get_bytes(blob.sha256) == b"model bytes"
    assert store.exists(blob.sha256)
    assert store.stat(blob.sha256) == blob


def test_empty_blob_round_trips(store: S3ArtifactStore) -> None:
    """An empty artifact is stored and read back (no range asked of an empty object)."""
    blob = store.put_chunks([])
    assert blob.size_bytes == 0
    assert store.get_bytes(blob.sha256) == b""


def test_large_blob_is_streamed_in_parts(
    store: S3ArtifactStore, seaweed_s3: SeaweedS3, s3_location: S3Location
) -> None:
    """Chunks larger than a part in total go up as a multipart upload of part-size parts;
    without an expected digest they are staged, moved to their address once hashed, and
    the staging object is gone."""
    data = os.urandom(2 * MIN_PART_SIZE + 12345)
    chunks = [data[i : i + 256 * 1024] for i in range(0, len(data), 256 * 1024)]
    blob = store.put_chunks(chunks)
    assert blob.sha256 == sha256_hex(data)
    assert blob.size_bytes == len(data)
    assert store.get_bytes(blob.sha256) == data
    assert _keys(seaweed_s3, s3_location, "uploads/") == []
    again = store.put_chunks(iter(chunks), expected_sha256=blob.sha256)
    assert again == blob
    head = seaweed_s3.client().head_object(Bucket=s3_location.bucket, Key=store.key_of(blob.sha256))
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]


def test_upload_that_does_not_match_its_digest_leaves_nothing(
    store: S3ArtifactStore, seaweed_s3: SeaweedS3, s3_location: S3Location
) -> None:
    """A mismatched expected sha256 is refused, for one part or many, and neither a blob
    nor an open multipart upload stays behind."""
    other = sha256_hex(b"other")
    with pytest.raises(ArtifactChecksumError):
        store.put_chunks([b"data"], expected_sha256=other)
    large = os.urandom(MIN_PART_SIZE + 1)
    with pytest.raises(ArtifactChecksumError):
        store.put_chunks([large], expected_sha256=other)
    assert not store.exists(sha256_hex(b"data"))
    assert not store.exists(other)
    assert _keys(seaweed_s3, s3_location, "") == []
    uploads = seaweed_s3.client().list_multipart_uploads(Bucket=s3_location.bucket)
    assert uploads.get("Uploads", []) == []


def test_tampered_object_is_refused_on_read(
    store: S3ArtifactStore, seaweed_s3: SeaweedS3, s3_location: S3Location
) -> None:
    """Bytes changed in the bucket behind the store's back fail the read, naming where."""
    blob = store.put_bytes(b"original")
    seaweed_s3.client().put_object(
        Bucket=s3_location.bucket, Key=store.key_of(blob.sha256), Body=b"tampered"
    )
    with pytest.raises(ArtifactChecksumError) as caught:
        store.get_bytes(blob.sha256)
    assert caught.value.expected == blob.sha256
    assert caught.value.actual == sha256_hex(b"tampered")
    assert blob.uri in str(caught.value)


def test_missing_blob_is_not_found(store: S3ArtifactStore) -> None:
    """A blob that was never stored is ArtifactNotFoundError, on read and on stat."""
    absent = sha256_hex(b"never stored")
    with pytest.raises(ArtifactNotFoundError):
        store.get_bytes(absent)
    with pytest.raises(ArtifactNotFoundError):
        store.stat(absent)
    assert not store.exists(absent)


def test_missing_bucket_is_unavailable(seaweed_s3: SeaweedS3) -> None:
    """A bucket that does not exist is a store that cannot be used, not a missing blob."""
    store = S3ArtifactStore(seaweed_s3.client(), S3Location("recmesh-no-such-bucket"))
    with pytest.raises(ArtifactStoreUnavailableError, match="recmesh-no-such-bucket"):
        store.put_bytes(b"data")
    with pytest.raises(ArtifactStoreUnavailableError):
        store.get_bytes(sha256_hex(b"data"))


def test_throttled_requests_are_retried(
    s3_environ: dict[str, str],
    seaweed_s3: SeaweedS3,
    s3_location: S3Location,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """503 SlowDown answers are retried with backoff by the client the store is made
    with (configured from the AWS variables), and the requests then succeed."""
    faults = Faults(throttle=2)
    with faulty_s3_proxy(seaweed_s3.endpoint, faults) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy)
        store = S3ArtifactStore(s3_client(), s3_location)
        blob = store.put_bytes(b"throttled bytes")
        faults.throttle = 1
        assert store.get_bytes(blob.sha256) == b"throttled bytes"
    assert faults.throttled == 3


def test_throttling_beyond_the_retries_is_unavailable(
    s3_environ: dict[str, str],
    seaweed_s3: SeaweedS3,
    s3_location: S3Location,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A store throttled for longer than its retries last answers
    ArtifactStoreUnavailableError."""
    faults = Faults(throttle=100)
    with faulty_s3_proxy(seaweed_s3.endpoint, faults) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy)
        store = S3ArtifactStore(s3_client(max_attempts=2), s3_location)
        with pytest.raises(ArtifactStoreUnavailableError, match="SlowDown"):
            store.put_bytes(b"never stored")
    assert faults.throttled == 2


def test_broken_download_resumes_where_it_stopped(
    seaweed_s3: SeaweedS3, s3_location: S3Location
) -> None:
    """A download cut halfway is resumed from the byte it reached (after a backoff) and
    the whole is still verified."""
    data = os.urandom(3 * 1024 * 1024)
    S3ArtifactStore(seaweed_s3.client(), s3_location).put_bytes(data)
    waits: list[float] = []
    faults = Faults(cut_downloads=1)
    with faulty_s3_proxy(seaweed_s3.endpoint, faults) as proxy:
        proxied = S3ArtifactStore(seaweed_s3.client(proxy), s3_location, sleep=waits.append)
        assert proxied.get_bytes(sha256_hex(data)) == data
    assert faults.cut == 1
    assert len(waits) == 1
