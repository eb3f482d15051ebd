"""Receives one streamed artifact (UploadArtifact) into the content-addressed store.

The chunks are spooled (in memory up to SPOOL_MEMORY_BYTES, then on disk) and
handed to the store, which hashes as it writes and renames the blob into place
only when it is whole and matches the expected sha256.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import IO

from recmesh.api.controlplane.v1 import control_plane_pb2, records_pb2
from recmesh.artifacts.errors import (
    ArtifactChecksumError,
    ArtifactStoreUnavailableError,
    InvalidDigestError,
)
from recmesh.artifacts.protocol import ArtifactStore
from recmesh.artifacts.store import check_digest
from recmesh.rpc.errors import InvalidArgumentError, UnavailableError

SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
_READ_CHUNK = 1024 * 1024


async def receive_upload(
    store: ArtifactStore,
    requests: AsyncIterator[control_plane_pb2.UploadArtifactRequest],
    max_bytes: int,
) -> records_pb2.ArtifactRef:
    first = await anext(requests, None)
    if first is None or not first.HasField("header"):
        raise InvalidArgumentError("the first UploadArtifactRequest must carry the header")
    header = first.header
    if not header.name.strip():
        raise InvalidArgumentError("header.name is empty (for example 'model' or 'snapshot')")
    expected = header.expected_sha256 or None
    if expected is not None:
        try:
            check_digest(expected)
        except InvalidDigestError:
            raise InvalidArgumentError(
                f"header.expected_sha256 is not a hex sha256: {expected!r}"
            ) from None
    if header.size_bytes < 0 or header.size_bytes > max_bytes:
        raise InvalidArgumentError(
            f"header.size_bytes must be between 0 and {max_bytes}, got {header.size_bytes}"
        )
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
        received = 0
        async for request in requests:
            if not request.HasField("chunk"):
                raise InvalidArgumentError("only the first UploadArtifactRequest carries a header")
            received += len(request.chunk)
            if received > max_bytes:
                raise InvalidArgumentError(f"the upload exceeds the limit of {max_bytes} bytes")
            await asyncio.to_thread(spool.write, request.chunk)
        if header.size_bytes and header.size_bytes != received:
            raise InvalidArgumentError(
                f"received {received} bytes, the header announced {header.size_bytes}"
            )
        spool.seek(0)
        try:
            blob = await asyncio.to_thread(store.put_chunks, _chunks(spool), expected)
        except ArtifactChecksumError as exc:
            raise InvalidArgumentError(str(exc)) from exc
        except ArtifactStoreUnavailableError as exc:
            raise UnavailableError(str(exc)) from exc
    return records_pb2.ArtifactRef(
        name=header.name, sha256=blob.sha256, size_bytes=blob.size_bytes, uri=blob.uri
    )


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    while chunk := spool.read(_READ_CHUNK):
        yield chunk
