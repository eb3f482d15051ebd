"""Time-ordered splits: hold out each user's latest rows, or everything after one cut."""

from __future__ import annotations

import numpy as np

from offline.splits.grouping import check_fraction, ranks_in_sorted_groups, scatter_mask
from recmesh.data.dataset import Interactions


def per_user_time_split(
    interactions: Interactions, holdout_fraction: float
) -> tuple[Interactions, Interactions]:
    """(train, test): the latest round(holdout_fraction * n) of each user's n rows in test.

    Rows are ordered by timestamp within each user, equal timestamps by file
    order; rounding is half to even, so a user with few rows may keep all of
    them in train (or, for fractions above one half, lose all of them to test).
    Both parts keep file order. Raises ValueError unless 0 < holdout_fraction < 1.
    """
    check_fraction(holdout_fraction, "holdout_fraction")
    order = np.lexsort((interactions.timestamps, interactions.users))
    rank, size = ranks_in_sorted_groups(interactions.users[order])
    held_out = rank > size - np.round(holdout_fraction * size)
    in_test = scatter_mask(order, held_out)
    return interactions.select(~in_test), interactions.select(in_test)


def global_time_split(
    interactions: Interactions, test_fraction: float
) -> tuple[Interactions, Interactions]:
    """(train, test): the latest round(test_fraction * N) of all N rows in test.

    One cut in time: every test row is at least as recent as every train row.
    Rows with equal timestamps are ordered by file order, so the cut may fall
    between two rows of the same second. Both parts keep file order. Raises
    ValueError unless 0 < test_fraction < 1.
    """
    check_fraction(test_fraction, "test_fraction")
    n = len(interactions)
    order = np.argsort(interactions.timestamps, kind="stable")
    n_test = int(np.round(test_fraction * n))
    in_test = scatter_mask(order, np.arange(n) >= n - n_test)
    return interactions.select(~in_test), interactions.select(in_test)
