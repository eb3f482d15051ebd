"""bench/baseline_tuning.py: a setting is fitted on part of TRAIN and scored on the rest."""

from __future__ import annotations

import numpy as np

from bench.baseline_tuning import GRIDS, holdout_ndcg
from offline.baselines.cornac_ease import EASEConfig, fit_ease
from offline.baselines.popularity import fit_popularity
from offline.baselines.protocol import Recommender
from offline.splits import stratified_split
from recmesh.data.dataset import Interactions
from tests.offline.baselines.synthetic import two_communities


def test_the_model_is_fitted_on_the_75_percent_part_of_train_only() -> None:
    """The fit gets exactly the train part of TRAIN split again alike (ratio 0.75, seed)."""
    train = two_communities()
    given: list[Interactions] = []

    def fit(part: Interactions) -> Recommender:
        given.append(part)
        return fit_popularity(part)

    holdout_ndcg(train, "user", 1, fit)
    expected, held_out = stratified_split(train, 0.75, 1, "user")
    (part,) = given
    assert np.array_equal(part.users, expected.users)
    assert np.array_equal(part.items, expected.items)
    assert len(part) < len(train)
    assert len(held_out) > 0


def test_a_model_that_learns_scores_above_popularity() -> None:
    """On two communities, EASE's hold-out NDCG@10 beats popularity's, for both strata."""
    train = two_communities()
    for by in ("user", "item"):
        ease = holdout_ndcg(train, by, 2, lambda t: fit_ease(t, EASEConfig(l2=5.0)))
        popularity = holdout_ndcg(train, by, 2, fit_popularity)
        assert 0.0 <= popularity < ease <= 1.0


def test_every_grid_is_small_and_of_distinct_settings() -> None:
    """Each grid has at most 27 settings, none repeated."""
    for _, grid in GRIDS.values():
        assert 0 < len(grid) <= 27
        assert len({repr(config) for config in grid}) == len(grid)
