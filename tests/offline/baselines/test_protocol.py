"""Both baselines are Recommenders and their fit functions are Trainers."""

from __future__ import annotations

import numpy as np

from offline.baselines.popularity import fit_popularity
from offline.baselines.protocol import Recommender, Trainer
from offline.baselines.sar import fit_sar
from tests.offline.factories import pairs


def test_baselines_satisfy_the_recommender_protocol() -> None:
    """fit_popularity and fit_sar type-check as Trainers and return lists for given users."""
    trainers: dict[str, Trainer] = {"popularity": fit_popularity, "sar": fit_sar}
    train = pairs([(1, 10), (1, 11), (2, 10), (2, 12), (3, 12)])
    users = np.array([3, 1], dtype=np.int64)
    for name, trainer in trainers.items():
        model: Recommender = trainer(train)
        assert model.name == name
        lists = model.recommend(users, 2)
        assert lists.users.tolist() == [3, 1]
        assert lists.k == 2
