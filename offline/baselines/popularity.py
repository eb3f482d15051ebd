"""The popularity baseline: the items most users interacted with in training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.baselines.dense_scores import TrainingMatrix
from offline.baselines.id_index import IdIndex
from offline.baselines.ranking import check_request, top_k_lists
from offline.baselines.sar_matrices import CsrMatrix
from offline.topk import TopK
from recmesh.data.dataset import Interactions


@dataclass(frozen=True)
class PopularityRecommender:
    """Ranks items by their number of distinct training users (the score), ties by lower id.

    `counts` is aligned to `items`; `seen` (users x items, 0/1) holds the
    training pairs. A user not in training is a cold user: they get the plain
    popularity ranking, with nothing to remove.
    """

    users: IdIndex
    items: IdIndex
    counts: NDArray[np.float64]
    seen: CsrMatrix

    @property
    def name(self) -> str:
        return "popularity"

    def recommend(self, users: NDArray[np.int64], k: int, *, remove_seen: bool = True) -> TopK:
        """The k most popular items per user, minus the user's training items if asked."""
        check_request(users, k)
        rows, known = self.users.lookup(users)
        # Only the k + (most items any requested user has seen) most popular items
        # can make a list, so the score matrix is users x that pool, not the catalogue.
        pool_size = len(self.items)
        if remove_seen and known.any():
            seen_counts = np.diff(self.seen.indptr)[rows[known]]
            pool_size = min(pool_size, k + int(seen_counts.max()))
        else:
            pool_size = min(pool_size, k)
        pool = np.lexsort((np.arange(len(self.items)), -self.counts))[:pool_size]
        scores = np.tile(self.counts[pool], (users.shape[0], 1))
        if remove_seen and known.any():
            seen_pool = self.seen[rows[known]][:, pool]
            seen_rows, seen_cols = seen_pool.nonzero()
            scores[np.flatnonzero(known)[seen_rows], seen_cols] = -np.inf
        return top_k_lists(users, self.items.ids[pool], scores, k)


def fit_popularity(train: Interactions) -> PopularityRecommender:
    """Counts each item's distinct users in `train` (not modified)."""
    matrix = TrainingMatrix.including_empty(train)
    counts = np.asarray(matrix.seen.sum(axis=0), dtype=np.float64).ravel()
    return PopularityRecommender(
        users=matrix.users, items=matrix.items, counts=counts, seen=matrix.seen
    )
