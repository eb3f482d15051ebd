"""Non-personal source: the catalogue by time-decayed popularity."""

from __future__ import annotations

import numpy as np

from recmesh.core.candidates.sources.base import SourceRequest, SourceResult
from recmesh.snapshot.snapshot import Snapshot

NAME = "popularity"


class PopularitySource:
    """The most popular unseen items, by the snapshot's time-decayed `popularity`.

    Order: popularity, then all-time interaction count, then lower item index (computed
    once here, so a request costs a slice). Items nobody interacted with are never
    returned. Scores are the popularity as float32 (items last seen many half-lives ago
    may score 0 yet keep their order). Answers every user, known or not.
    """

    name = NAME

    def __init__(self, snapshot: Snapshot) -> None:
        order = np.lexsort(
            (np.arange(snapshot.n_items), -snapshot.item_counts, -snapshot.popularity)
        )
        self._order = order[snapshot.item_counts[order] > 0].astype(np.int64)
        self._scores = snapshot.popularity[self._order].astype(np.float32)

    def generate(self, request: SourceRequest) -> SourceResult:
        # Among the first n + len(history) items at least n are unseen (or the list ends).
        head = self._order[: request.n + len(request.history)]
        keep = ~request.seen[head]
        positions = np.flatnonzero(keep)[: request.n]
        return SourceResult(item_indices=head[positions], scores=self._scores[positions])
