"""cornac's EASE behind the baseline protocol: the closed form, seen removal, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from offline.baselines.cornac_ease import NAME, EASEConfig, fit_ease
from offline.baselines.protocol import Trainer
from offline.errors import UnknownIdsError
from tests.offline.baselines.synthetic import own_group_share, two_communities


def _closed_form(x: NDArray[np.float64], l2: float) -> NDArray[np.float64]:
    """Steck's EASE^R with negative weights dropped, computed here from its definition."""
    p = np.linalg.inv(x.T @ x + l2 * np.eye(x.shape[1]))
    b = np.eye(x.shape[1]) - p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    positive: NDArray[np.float64] = np.maximum(b, 0.0)
    return positive


def test_weights_are_the_closed_form_on_our_ids_order() -> None:
    """B equals EASE^R of the binary matrix, rows and columns in ascending item id."""
    train = two_communities()
    model = fit_ease(train, EASEConfig(l2=5.0))
    x = model.matrix.seen.toarray().astype(np.float64)
    assert np.array_equal(model.inputs.toarray(), x)
    assert np.allclose(model.weights, _closed_form(x, 5.0), atol=1e-10)


def test_ratings_mode_feeds_the_ratings() -> None:
    """With ratings=True, X holds each pair's rating."""
    train = two_communities()
    model = fit_ease(train, EASEConfig(l2=5.0, ratings=True))
    rows = model.matrix.users.positions(train.users, "user", "")
    cols = model.matrix.items.positions(train.items, "item", "")
    assert model.inputs.toarray()[rows, cols].tolist() == train.ratings.tolist()


def test_lists_hold_unseen_items_of_the_users_own_group_and_repeat() -> None:
    """Every user's top 4 are unseen items of their own community; a refit is identical."""
    train = two_communities()
    trainer: Trainer = lambda t: fit_ease(t, EASEConfig(l2=5.0))  # noqa: E731
    model = trainer(train)
    assert model.name == NAME
    users = np.unique(train.users)
    lists = model.recommend(users, 4)
    assert own_group_share(train, lists) == 1.0
    again = trainer(train).recommend(users, 4)
    assert np.array_equal(lists.items, again.items)
    assert np.array_equal(lists.scores, again.scores)


def test_unknown_users_and_bad_settings_are_refused() -> None:
    """A user not in training raises UnknownIdsError; a negative l2 ValueError."""
    model = fit_ease(two_communities(), EASEConfig(l2=5.0))
    with pytest.raises(UnknownIdsError):
        model.recommend(np.array([999], dtype=np.int64), 3)
    with pytest.raises(ValueError, match="l2"):
        EASEConfig(l2=-1.0)
