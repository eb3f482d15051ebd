"""Tiny synthetic training data with an obvious structure, for the library baselines' tests."""

from __future__ import annotations

import numpy as np

from offline.baselines.factors import FactorRecommender
from offline.topk import TopK
from recmesh.data.dataset import Interactions
from tests.offline.factories import interactions

USERS_PER_GROUP = 20
ITEMS_PER_GROUP = 10
SEEN_PER_USER = 6


def two_communities(seed: int = 0) -> Interactions:
    """Users 100..119 rated 6 of items 1..10, users 120..139 6 of items 11..20 (at random).

    Ratings run 1..5 and timestamps follow row order. A model that learns
    anything ranks a user's unseen items of their own group above the others.
    """
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, float, int]] = []
    for group in range(2):
        for member in range(USERS_PER_GROUP):
            user = 100 + group * USERS_PER_GROUP + member
            chosen = rng.choice(ITEMS_PER_GROUP, size=SEEN_PER_USER, replace=False)
            for item in chosen.tolist():
                rating = float(rng.integers(1, 6))
                rows.append((user, 1 + group * ITEMS_PER_GROUP + item, rating, len(rows)))
    return interactions(rows)


def own_group(user: int, item: int) -> bool:
    """Whether `item` belongs to the group of `user` in `two_communities`."""
    return (user - 100) // USERS_PER_GROUP == (item - 1) // ITEMS_PER_GROUP


def own_group_share(train: Interactions, lists: TopK) -> float:
    """The share of listed items from the user's own group; asserts no list holds an item
    the user has in `train`."""
    seen = set(zip(train.users.tolist(), train.items.tolist(), strict=True))
    listed = own = 0
    for user, items in zip(lists.users.tolist(), lists.items.tolist(), strict=True):
        assert not any((user, item) in seen for item in items), (user, items)
        listed += len(items)
        own += sum(own_group(user, item) for item in items)
    return own / listed


def same_factors(first: FactorRecommender, second: FactorRecommender) -> bool:
    """Whether two factor models hold identical user and item factors."""
    return np.array_equal(first.user_factors, second.user_factors) and np.array_equal(
        first.item_factors, second.item_factors
    )
