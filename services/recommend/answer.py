"""What the front answers with: the items, and whether and why it degraded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

from recmesh.api.recommend.v1 import recommend_pb2

Reason: TypeAlias = recommend_pb2.DegradedReason.ValueType
NOT_DEGRADED: Reason = recommend_pb2.DEGRADED_REASON_UNSPECIFIED


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
