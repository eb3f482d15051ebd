"""EASE source: the user's history times EASE's item-item weights (top-N per item)."""

from __future__ import annotations

import numpy as np

from recmesh.core.candidates.sources.base import EMPTY_RESULT, SourceRequest, SourceResult
from recmesh.core.candidates.sources.selection import top_positive
from recmesh.snapshot.history import row_entries
from recmesh.snapshot.snapshot import Snapshot

NAME = "ease"


class EaseSource:
    """Scores item j by sum over the history h of B[h, j], EASE's weight (X[user] B with a
    binary X), over the neighbour lists the snapshot keeps (`ease_*`: each item's N largest
    positive weights), so only items some history item lists can score above 0, and only
    those are returned. Empty for a user without history. Excludes consumed items. Needs
    a snapshot built with `ease_neighbors_per_item` above 0.
    """

    name = NAME

    def __init__(self, snapshot: Snapshot) -> None:
        if snapshot.config.ease_neighbors_per_item == 0:
            raise ValueError("the snapshot holds no EASE neighbours (ease_neighbors_per_item 0)")
        self._snapshot = snapshot

    def generate(self, request: SourceRequest) -> SourceResult:
        if len(request.history) == 0:
            return EMPTY_RESULT
        snapshot = self._snapshot
        positions, _ = row_entries(snapshot.ease_indptr, request.history.item_indices)
        if positions.shape[0] == 0:
            return EMPTY_RESULT
        scores = np.bincount(
            snapshot.ease_indices[positions],
            weights=snapshot.ease_values[positions],
            minlength=snapshot.n_items,
        ).astype(np.float32)
        scores[request.history.item_indices] = 0.0
        return top_positive(scores, request.n)
