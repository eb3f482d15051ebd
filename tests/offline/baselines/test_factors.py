"""A factor model scores by the dot product of its user and item factors."""

from __future__ import annotations

import numpy as np

from offline.baselines.dense_scores import TrainingMatrix
from offline.baselines.factors import FactorRecommender
from tests.offline.factories import pairs


def test_lists_follow_the_dot_product_without_seen_items() -> None:
    """User 1 (factors [1, 0]) saw 10 and prefers 12 to 11; user 2 ([0, 1]) has only 11 left."""
    matrix = TrainingMatrix.of(pairs([(1, 10), (2, 10), (2, 12), (3, 11)]))
    model = FactorRecommender(
        label="toy",
        matrix=matrix,
        user_factors=np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32),
        item_factors=np.array([[5, 5], [1, 2], [3, 0]], dtype=np.float32),
    )
    assert model.name == "toy"
    assert model.scores(np.array([0, 1, 2], dtype=np.intp)).tolist() == [
        [5, 1, 3],
        [5, 2, 0],
        [10, 3, 3],
    ]
    lists = model.recommend(np.array([1, 2], dtype=np.int64), 2)
    assert lists.items.tolist() == [[12, 11], [11, -1]]
