"""implicit's ALS behind the baseline protocol: learns, removes seen items, deterministic."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from offline.baselines.implicit_als import NAME, ALSConfig, fit_als
from offline.baselines.protocol import Trainer
from offline.errors import UnknownIdsError
from tests.offline.baselines.synthetic import own_group_share, same_factors, two_communities

_SMALL = ALSConfig(factors=2, regularization=0.1, alpha=2.0, iterations=10, seed=3)


def test_lists_hold_unseen_items_of_the_users_own_group() -> None:
    """Every user's top 4 are unseen items of their own community (each has 4 left)."""
    train = two_communities()
    trainer: Trainer = lambda t: fit_als(t, _SMALL)  # noqa: E731
    model = trainer(train)
    assert model.name == NAME
    assert own_group_share(train, model.recommend(np.unique(train.users), 4)) == 1.0


def test_same_seed_same_model_for_one_or_two_threads() -> None:
    """Two fits with one seed give identical factors, whether on 1 or 2 threads."""
    train = two_communities()
    first = fit_als(train, _SMALL)
    assert same_factors(first, fit_als(train, dataclasses.replace(_SMALL, threads=1)))
    assert not same_factors(first, fit_als(train, dataclasses.replace(_SMALL, seed=4)))


def test_unknown_users_and_bad_settings_are_refused() -> None:
    """A user not in training raises UnknownIdsError; a zero factor count ValueError."""
    model = fit_als(two_communities(), _SMALL)
    with pytest.raises(UnknownIdsError):
        model.recommend(np.array([999], dtype=np.int64), 3)
    with pytest.raises(ValueError, match="factors"):
        ALSConfig(factors=0)
    with pytest.raises(ValueError, match="regularization"):
        ALSConfig(regularization=-1.0)
