"""Content source: items whose genres match the user's genre profile, weighted by popularity."""

from __future__ import annotations

import numpy as np

from recmesh.core.candidates.sources.base import EMPTY_RESULT, SourceRequest, SourceResult
from recmesh.core.candidates.sources.selection import top_positive
from recmesh.snapshot.snapshot import Snapshot

NAME = "genre_affinity"


class GenreAffinitySource:
    """Scores item i by cosine(user genre profile, genres of i) * log(1 + count of i).

    The profile is the snapshot's affinity-weighted genre profile. The popularity weight
    is the all-time count rather than the time-decayed popularity, so that the source
    reaches into the back catalogue (which decayed popularity all but zeroes). Items
    without genres or interactions score 0 and are not returned. Empty for unknown users
    and users without history. Excludes consumed items.
    """

    name = NAME

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        genres = snapshot.item_genres.astype(np.float32)
        norms = np.linalg.norm(genres, axis=1)
        weights = np.log1p(snapshot.item_counts.astype(np.float32))
        # Folding 1/norm and the popularity weight into the matrix leaves one
        # matrix-vector product per request.
        scale = np.divide(weights, norms, out=np.zeros_like(weights), where=norms > 0)
        # Genres x items, so that the product runs over contiguous rows.
        self._weighted_genres = np.ascontiguousarray((genres * scale[:, None]).T)

    def generate(self, request: SourceRequest) -> SourceResult:
        if request.user_index is None or len(request.history) == 0:
            return EMPTY_RESULT
        profile = self._snapshot.user_genre_profiles[request.user_index]
        scores = profile @ self._weighted_genres
        scores[request.history.item_indices] = 0.0
        return top_positive(scores, request.n)
