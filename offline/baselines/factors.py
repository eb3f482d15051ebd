"""A fitted latent-factor model: score(user, item) = user_factors[user] . item_factors[item]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.baselines.dense_scores import TrainingMatrix, recommend_by_scores
from offline.topk import TopK


@dataclass(frozen=True)
class FactorRecommender:
    """Rows of `user_factors` follow `matrix.users`, rows of `item_factors` follow
    `matrix.items` (both float32, one width); `name` is the model's stable label.

    Every requested user must be in training (UnknownIdsError otherwise): a
    factor model has no vector for anyone else.
    """

    label: str
    matrix: TrainingMatrix
    user_factors: NDArray[np.float32]
    item_factors: NDArray[np.float32]

    @property
    def name(self) -> str:
        return self.label

    def scores(self, rows: NDArray[np.intp]) -> NDArray[np.float64]:
        """Scores (rows x training items, float64) of the users at positions `rows`."""
        users = self.user_factors[rows].astype(np.float64)
        product: NDArray[np.float64] = users @ self.item_factors.T.astype(np.float64)
        return product

    def recommend(self, users: NDArray[np.int64], k: int, *, remove_seen: bool = True) -> TopK:
        """The top k items of each user by factor score; ties go to the lower item id."""
        return recommend_by_scores(self.matrix, self.scores, users, k, remove_seen, self.label)
