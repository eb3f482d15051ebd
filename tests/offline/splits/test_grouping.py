"""Ranks within groups of sorted keys, and the fraction check splits share."""

from __future__ import annotations

import numpy as np
import pytest

from offline.splits.grouping import check_fraction, ranks_in_sorted_groups, scatter_mask


def test_ranks_restart_at_one_in_each_group_and_sizes_repeat() -> None:
    """Rank is 1-based within each run of equal keys; size is the run's length."""
    rank, size = ranks_in_sorted_groups(np.array([4, 4, 4, 7, 9, 9], dtype=np.int64))
    assert rank.tolist() == [1, 2, 3, 1, 1, 2]
    assert size.tolist() == [3, 3, 3, 1, 2, 2]


def test_ranks_of_no_rows_are_empty() -> None:
    """No rows give empty rank and size arrays."""
    rank, size = ranks_in_sorted_groups(np.zeros(0, dtype=np.int64))
    assert rank.shape == (0,)
    assert size.shape == (0,)


def test_scatter_mask_puts_sorted_decisions_back_in_file_order() -> None:
    """The i-th sorted decision lands on row order[i]."""
    order = np.array([2, 0, 1])
    assert scatter_mask(order, np.array([True, False, False])).tolist() == [False, False, True]


@pytest.mark.parametrize("value", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_fractions_outside_the_open_unit_interval_are_rejected(value: float) -> None:
    """0 and 1 themselves are rejected: one part of the split would be empty."""
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        check_fraction(value, "ratio")
