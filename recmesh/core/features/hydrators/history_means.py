"""Per-user means of item values over each user's history (shared by two hydrators)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recmesh.snapshot.snapshot import Snapshot


def history_means(
    snapshot: Snapshot, item_values: NDArray[np.float64], item_valid: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """For every user, the mean of `item_values` over the history items where
    `item_valid` holds; 0 for a user with no such item."""
    per_user = np.diff(snapshot.history_indptr)
    rows = np.repeat(np.arange(snapshot.n_users), per_user)
    valid = item_valid[snapshot.history_items].astype(np.float64)
    values = item_values[snapshot.history_items] * valid
    sums = np.bincount(rows, weights=values, minlength=snapshot.n_users)
    counts = np.bincount(rows, weights=valid, minlength=snapshot.n_users)
    means: NDArray[np.float64] = np.divide(
        sums, counts, out=np.zeros(snapshot.n_users), where=counts > 0
    )
    return means


def mean_item_log_count(snapshot: Snapshot) -> NDArray[np.float64]:
    """Per user: mean log(1 + interaction count) of the items in the history."""
    log_counts = np.log1p(snapshot.item_counts.astype(np.float64))
    return history_means(snapshot, log_counts, np.ones(snapshot.n_items, dtype=np.bool_))


def mean_item_year(snapshot: Snapshot) -> NDArray[np.float64]:
    """Per user: mean release year of the history items whose year is known (else 0)."""
    years = snapshot.item_years.astype(np.float64)
    return history_means(snapshot, years, snapshot.item_years > 0)
