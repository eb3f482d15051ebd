"""Time splits: each user's latest rows held out, or one global cut in time."""

from __future__ import annotations

import numpy as np
import pytest

from offline.splits.temporal import global_time_split, per_user_time_split
from tests.offline.factories import interactions


def test_per_user_split_holds_out_each_users_latest_rows() -> None:
    """User 1's two latest of 5 rows and user 2's latest of 3 are held out (0.4 of each)."""
    data = interactions(
        [
            (1, 10, 1.0, 500),
            (2, 20, 1.0, 100),
            (1, 11, 1.0, 100),
            (1, 12, 1.0, 400),
            (2, 21, 1.0, 300),
            (1, 13, 1.0, 200),
            (2, 22, 1.0, 200),
            (1, 14, 1.0, 300),
        ]
    )
    train, test = per_user_time_split(data, holdout_fraction=0.4)
    assert test.items.tolist() == [10, 12, 21]  # file order kept
    assert train.items.tolist() == [20, 11, 13, 22, 14]


def test_per_user_ties_in_time_are_broken_by_file_order() -> None:
    """Of rows with the same timestamp, the later one in the file counts as more recent."""
    data = interactions([(1, 10, 1.0, 50), (1, 11, 1.0, 50), (1, 12, 1.0, 50), (1, 13, 1.0, 10)])
    train, test = per_user_time_split(data, holdout_fraction=0.5)
    assert test.items.tolist() == [11, 12]
    assert train.items.tolist() == [10, 13]


def test_per_user_holdout_count_is_rounded_half_to_even() -> None:
    """0.5 of 1 row rounds to 0 (the row stays in train); 0.5 of 3 rows rounds to 2."""
    data = interactions([(1, 10, 1.0, 1), (2, 20, 1.0, 1), (2, 21, 1.0, 2), (2, 22, 1.0, 3)])
    train, test = per_user_time_split(data, holdout_fraction=0.5)
    assert train.items.tolist() == [10, 20]
    assert test.items.tolist() == [21, 22]


def test_global_cut_holds_out_the_latest_fraction_of_all_rows() -> None:
    """Every test row is at least as recent as every train row; parts keep file order."""
    stamps = [40, 10, 30, 20, 50, 60, 0, 70, 90, 80]
    data = interactions([(t % 3, i, 1.0, t) for i, t in enumerate(stamps)])
    train, test = global_time_split(data, test_fraction=0.3)
    assert test.timestamps.tolist() == [70, 90, 80]
    assert train.timestamps.max() <= test.timestamps.min()
    assert np.all(np.diff(train.items) > 0)


def test_global_cut_within_one_second_follows_file_order() -> None:
    """Rows at the cut's timestamp go to test from the last in the file backwards."""
    data = interactions([(1, 10, 1.0, 5), (2, 11, 1.0, 5), (3, 12, 1.0, 5), (4, 13, 1.0, 1)])
    train, test = global_time_split(data, test_fraction=0.5)
    assert test.items.tolist() == [11, 12]
    assert train.items.tolist() == [10, 13]


@pytest.mark.parametrize("fraction", [0.0, 1.0, 2.0])
def test_fractions_outside_the_open_unit_interval_are_rejected(fraction: float) -> None:
    """Both splitters reject a fraction of 0, 1 or more."""
    data = interactions([(1, 10, 1.0, 1)])
    with pytest.raises(ValueError, match="holdout_fraction"):
        per_user_time_split(data, fraction)
    with pytest.raises(ValueError, match="test_fraction"):
        global_time_split(data, fraction)
