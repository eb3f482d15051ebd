"""What the front answers with: the items, and whether and why it degraded; and the two
answers it falls back to (the version's popularity list, the candidates in source order)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.wire.candidate_codec import WireCandidates
from services.recommend.front_bundle import FrontBundle

Reason: TypeAlias = recommend_pb2.DegradedReason.ValueType
NOT_DEGRADED: Reason = recommend_pb2.DEGRADED_REASON_UNSPECIFIED

#: The source named on every item of the popularity list.
POPULARITY_SOURCE = "popularity_fallback"


@dataclass(frozen=True)
class Answer:
    """Items best first; `sources[i]` names the candidate source of `item_ids[i]`."""

    item_ids: NDArray[np.int64]
    scores: NDArray[np.float32]
    sources: tuple[str, ...]
    degraded_reason: Reason = NOT_DEGRADED
    degraded_detail: str = ""

    @property
    def degraded(self) -> bool:
        return self.degraded_reason != NOT_DEGRADED


def reason_label(reason: Reason) -> str:
    """Short stable label of a reason, for metrics and logs ("ranking_unavailable")."""
    name = recommend_pb2.DegradedReason.Name(reason)
    return name.removeprefix("DEGRADED_REASON_").lower()


def popularity_answer(bundle: FrontBundle, k: int, reason: Reason, detail: str) -> Answer:
    """The first k items of the version's popularity list (held in memory)."""
    return Answer(
        bundle.popular_item_ids[:k],
        bundle.popular_scores[:k],
        (POPULARITY_SOURCE,) * min(k, bundle.popular_item_ids.shape[0]),
        reason,
        detail,
    )


def source_order_answer(
    candidates: WireCandidates, k: int, reason: Reason = NOT_DEGRADED, detail: str = ""
) -> Answer:
    """The first k candidates in the order the candidates service sent them."""
    top = slice(0, k)
    sources = tuple(candidates.sources[i] for i in candidates.source_indices[top].tolist())
    return Answer(
        np.array(candidates.item_ids[top]),
        np.array(candidates.source_scores[top]),
        sources,
        reason,
        detail,
    )
