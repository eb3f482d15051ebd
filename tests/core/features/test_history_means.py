"""history_means: per-user means of item values over the history."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.core.features.hydrators.history_means import (
    history_means,
    mean_item_log_count,
    mean_item_year,
)
from tests.snapshot.datasets import example_snapshot


def test_mean_over_valid_history_items_and_zero_without_any() -> None:
    """User 3 saw items 1, 2, 3 (years 1995, unknown, 2000): mean year 1997.5; user 5: 0."""
    snapshot = example_snapshot()
    assert mean_item_year(snapshot).tolist() == [1992.5, 1992.5, 1997.5, 1990.0, 0.0]


def test_mean_item_log_count() -> None:
    """User 4 saw only item 10 (3 users): log(4)."""
    snapshot = example_snapshot()
    assert mean_item_log_count(snapshot)[3] == pytest.approx(np.log(4))


def test_invalid_items_are_left_out_of_the_mean() -> None:
    """Masking every item gives zeros."""
    snapshot = example_snapshot()
    values = np.ones(snapshot.n_items)
    assert history_means(snapshot, values, np.zeros(snapshot.n_items, dtype=np.bool_)).tolist() == [
        0.0
    ] * 5
