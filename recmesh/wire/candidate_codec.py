"""CandidateSet on the wire <-> arrays, with every length checked."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recmesh.api.common.v1 import arrays_pb2
from recmesh.wire.arrays import (
    ArrayPayloadError,
    decode_float32,
    decode_int64,
    encode_float32,
    encode_int64,
)
from recmesh.wire.limits import MAX_CANDIDATES_ON_WIRE


@dataclass(frozen=True)
class WireCandidates:
    """Decoded candidates: item ids, finding-source index, source score, source names."""

    item_ids: NDArray[np.int64]
    source_indices: NDArray[np.uint8]
    source_scores: NDArray[np.float32]
    sources: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.item_ids.shape[0])


def encode_candidates(
    item_ids: NDArray[np.int64],
    source_indices: NDArray[np.uint8],
    source_scores: NDArray[np.float32],
    sources: tuple[str, ...],
) -> arrays_pb2.CandidateSet:
    return arrays_pb2.CandidateSet(
        item_ids=encode_int64(item_ids),
        source_indices=np.ascontiguousarray(source_indices, dtype=np.uint8).tobytes(),
        sources=list(sources),
        source_scores=encode_float32(source_scores),
    )


def decode_candidates(payload: arrays_pb2.CandidateSet) -> WireCandidates:
    """Raises ArrayPayloadError when lengths disagree or a source index is out of range."""
    item_ids = decode_int64(payload.item_ids, "candidates.item_ids")
    n = item_ids.shape[0]
    if n > MAX_CANDIDATES_ON_WIRE:
        raise ArrayPayloadError(
            f"candidates: {n} items exceed the limit of {MAX_CANDIDATES_ON_WIRE}"
        )
    scores = decode_float32(payload.source_scores, "candidates.source_scores")
    source_indices = np.frombuffer(payload.source_indices, dtype=np.uint8)
    if scores.shape[0] != n or source_indices.shape[0] != n:
        raise ArrayPayloadError(
            f"candidates: {n} item ids but {scores.shape[0]} scores "
            f"and {source_indices.shape[0]} source indices"
        )
    sources = tuple(payload.sources)
    if n and int(source_indices.max()) >= len(sources):
        raise ArrayPayloadError(
            f"candidates: source index {int(source_indices.max())} but only "
            f"{len(sources)} sources named"
        )
    return WireCandidates(item_ids, source_indices, scores, sources)
