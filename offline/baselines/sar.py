"""SAR (Simple Algorithm for Recommendation), as Microsoft Recommenders' `SARSingleNode`.

score(user, item) = sum_j affinity(user, j) * similarity(j, item), where the
affinity is the user's time-decayed rating of item j (half-life 30 days, "now"
being the latest training timestamp) and the similarity is Jaccard over
co-occurrence counts. The defaults are those of the quick-start notebook
`sar_movielens.ipynb`: jaccard, `time_decay_coefficient=30`,
`timedecay_formula=True`, co-occurrence threshold 1, `normalize=True`,
`remove_seen=True`.

Ranking is on the raw scores; `normalize` only rescales the reported scores to
the rating scale as SARSingleNode does (per user, an increasing affine map, so
it never changes a ranking). Ties are broken by the lower item id, where
SARSingleNode leaves them to `np.argpartition`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.baselines.id_index import IdIndex
from offline.baselines.ranking import (
    check_request,
    lists_from_columns,
    top_k_columns,
    top_k_lists,
)
from offline.baselines.sar_matrices import (
    CsrMatrix,
    Similarity,
    affinity_matrix,
    cooccurrence_matrix,
    decay_factors,
    interaction_matrix,
    similarity_matrix,
)
from offline.topk import PAD, TopK
from recmesh.data.dataset import Interactions

# Score cells computed at once when recommending: bounds memory for any user count.
_BLOCK_CELLS = 1 << 22


@dataclass(frozen=True)
class SARConfig:
    """SAR's parameters, defaulting to the quick-start notebook's.

    `half_life_days` None turns time decay off; `now` (Unix seconds) None means
    the latest training timestamp. Raises ValueError for a non-positive
    half-life or a co-occurrence threshold below 1.
    """

    similarity: Similarity = Similarity.JACCARD
    half_life_days: float | None = 30.0
    now: int | None = None
    cooccurrence_threshold: int = 1
    normalize: bool = True

    def __post_init__(self) -> None:
        if self.half_life_days is not None and not self.half_life_days > 0:
            raise ValueError(f"half_life_days must be positive, got {self.half_life_days!r}")
        if self.cooccurrence_threshold < 1:
            raise ValueError(
                f"cooccurrence_threshold must be >= 1, got {self.cooccurrence_threshold}"
            )


@dataclass(frozen=True)
class SARRecommender:
    """A fitted SAR model; its pieces are public because serving builds on them too.

    Rows of `affinity` (users x items, float64) and `seen` (users x items, 0/1)
    follow `users`; columns and both axes of `similarity` (items x items,
    float32) follow `items`. `rating_min`/`rating_max` are the smallest and
    largest affinities, the scale `normalize` maps scores onto.
    `unity_affinity` is the affinity with every rating set to 1.
    """

    config: SARConfig
    users: IdIndex
    items: IdIndex
    affinity: CsrMatrix
    unity_affinity: CsrMatrix
    seen: CsrMatrix
    similarity: CsrMatrix
    rating_min: float
    rating_max: float

    @property
    def name(self) -> str:
        return "sar"

    def scores(self, users: NDArray[np.int64]) -> NDArray[np.float64]:
        """Raw scores (users x items, float64) of `users`, seen items included.

        Raises UnknownIdsError for a user not in training.
        """
        return self._raw_scores(self.users.positions(users, "user", "not in SAR's training data"))

    def recommend(self, users: NDArray[np.int64], k: int, *, remove_seen: bool = True) -> TopK:
        """The top k items of each user by SAR score (see the module docstring).

        Every user must be in training: SAR has no affinity for others, and
        raises UnknownIdsError for them, as SARSingleNode does.
        """
        check_request(users, k)
        rows = self.users.positions(users, "user", "not in SAR's training data")
        items = np.full((users.shape[0], k), PAD, dtype=np.int64)
        scores = np.full((users.shape[0], k), -np.inf, dtype=np.float32)
        block = max(1, _BLOCK_CELLS // max(len(self.items), 1))
        for start in range(0, users.shape[0], block):
            part = slice(start, start + block)
            lists = self._recommend_rows(users[part], rows[part], k, remove_seen)
            items[part] = lists.items
            scores[part] = lists.scores
        return TopK(users=users.astype(np.int64), items=items, scores=scores)

    def _recommend_rows(
        self, users: NDArray[np.int64], rows: NDArray[np.intp], k: int, remove_seen: bool
    ) -> TopK:
        raw = self._raw_scores(rows)
        if remove_seen:
            seen_rows, seen_cols = self.seen[rows].nonzero()
            raw[seen_rows, seen_cols] = -np.inf
        if not self.config.normalize:
            return top_k_lists(users, self.items.ids, raw, k)
        columns = top_k_columns(raw, k)
        # The rescaling is increasing per user, so the raw ranking stands as it is.
        shown = self._normalized(rows, np.take_along_axis(raw, columns, axis=1))
        return lists_from_columns(users, self.items.ids, columns, shown, k)

    def _raw_scores(self, rows: NDArray[np.intp]) -> NDArray[np.float64]:
        return np.asarray((self.affinity[rows] @ self.similarity).toarray(), dtype=np.float64)

    def _normalized(self, rows: NDArray[np.intp], raw: NDArray[np.float64]) -> NDArray[np.float64]:
        """SARSingleNode's rescaling of a user's scores to [rating_min, rating_max].

        With c the user's unity-affinity scores, the user's range is
        [min(c) * rating_min, max(c) * rating_max]; a user whose range is empty
        gets rating_min.
        """
        counts = (self.unity_affinity[rows] @ self.similarity).toarray()
        low = counts.min(axis=1, initial=np.inf)[:, None] * self.rating_min
        high = counts.max(axis=1, initial=-np.inf)[:, None] * self.rating_max
        span = high - low
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = (raw - low) / span * (self.rating_max - self.rating_min) + self.rating_min
        result: NDArray[np.float64] = np.where(
            np.isfinite(raw), np.where(span > 0, scaled, self.rating_min), -np.inf
        )
        return result


def fit_sar(train: Interactions, config: SARConfig | None = None) -> SARRecommender:
    """Fits SAR on `train` (not modified); raises ValueError for empty training data."""
    config = SARConfig() if config is None else config
    if len(train) == 0:
        raise ValueError("cannot fit SAR on empty training data")
    users = IdIndex.of(train.users)
    items = IdIndex.of(train.items)
    rows = users.positions(train.users, "user", "in training")
    cols = items.positions(train.items, "item", "in training")
    shape = (len(users), len(items))
    if config.half_life_days is None:
        decay = np.ones(len(train), dtype=np.float64)
    else:
        now = int(train.timestamps.max()) if config.now is None else config.now
        decay = decay_factors(train.timestamps, now, config.half_life_days)
    # float32 rating times float64 decay, in float64, as pandas computes it in SARSingleNode.
    affinity = affinity_matrix(rows, cols, train.ratings.astype(np.float64) * decay, shape)
    seen = interaction_matrix(rows, cols, shape)
    cooccurrence = cooccurrence_matrix(seen, config.cooccurrence_threshold)
    return SARRecommender(
        config=config,
        users=users,
        items=items,
        affinity=affinity,
        unity_affinity=affinity_matrix(rows, cols, decay, shape),
        seen=seen,
        similarity=similarity_matrix(cooccurrence, config.similarity),
        rating_min=float(affinity.data.min()),
        rating_max=float(affinity.data.max()),
    )
