"""cornac's BPR behind the baseline protocol: learns, removes seen items, deterministic."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from offline.baselines.cornac_bpr import NAME, CornacBPRConfig, fit_cornac_bpr
from offline.baselines.protocol import Trainer
from offline.errors import UnknownIdsError
from tests.offline.baselines.synthetic import own_group_share, same_factors, two_communities

_SMALL = CornacBPRConfig(
    factors=8, learning_rate=0.05, regularization=0.001, iterations=100, seed=3
)


def test_lists_hold_unseen_items_ranked_by_the_users_own_group() -> None:
    """No list holds a seen item; at least 90 % of top-2 items are of the user's community."""
    train = two_communities()
    trainer: Trainer = lambda t: fit_cornac_bpr(t, _SMALL)  # noqa: E731
    model = trainer(train)
    assert model.name == NAME
    assert own_group_share(train, model.recommend(np.unique(train.users), 2)) >= 0.9


def test_the_item_bias_is_part_of_the_score() -> None:
    """The last factor column is 1 for users and the item's bias for items."""
    model = fit_cornac_bpr(two_communities(), _SMALL)
    assert np.all(model.user_factors[:, -1] == 1.0)
    assert model.item_factors.shape == (20, 9)
    assert np.any(model.item_factors[:, -1] != 0.0)


def test_same_seed_same_model() -> None:
    """Two fits with one seed give identical factors; another seed gives others."""
    train = two_communities()
    first = fit_cornac_bpr(train, _SMALL)
    assert same_factors(first, fit_cornac_bpr(train, _SMALL))
    assert not same_factors(first, fit_cornac_bpr(train, dataclasses.replace(_SMALL, seed=4)))


def test_unknown_users_and_bad_settings_are_refused() -> None:
    """A user not in training raises UnknownIdsError; zero factors ValueError."""
    model = fit_cornac_bpr(two_communities(), _SMALL)
    with pytest.raises(UnknownIdsError):
        model.recommend(np.array([999], dtype=np.int64), 3)
    with pytest.raises(ValueError, match="factors"):
        CornacBPRConfig(factors=0)
