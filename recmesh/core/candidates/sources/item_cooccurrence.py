"""SAR-style source: the user's time-decayed affinities times item-to-item similarity."""

from __future__ import annotations

from recmesh.core.candidates.sources.base import EMPTY_RESULT, SourceRequest, SourceResult
from recmesh.core.candidates.sources.selection import top_positive
from recmesh.snapshot.history import neighbour_edges, sar_scores
from recmesh.snapshot.snapshot import Snapshot

NAME = "item_cooccurrence"


class ItemCooccurrenceSource:
    """Scores item j by sum over the history h of affinity(h) * similarity(h, j).

    Only items some history item lists among its neighbours can score above 0, and only
    those are returned; empty for a user without history. Excludes consumed items.
    """

    name = NAME

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def generate(self, request: SourceRequest) -> SourceResult:
        if len(request.history) == 0:
            return EMPTY_RESULT
        edges = neighbour_edges(self._snapshot, request.history)
        if len(edges) == 0:
            return EMPTY_RESULT
        scores = sar_scores(self._snapshot, edges)
        scores[request.history.item_indices] = 0.0
        return top_positive(scores, request.n)
