"""stratified_split: Microsoft Recommenders' per-group random split, row for row."""

from __future__ import annotations

import numpy as np
import pytest

from offline.splits.stratified import stratified_split
from recmesh.data.dataset import Dataset, Interactions
from tests.offline.factories import interactions

# Users of 14 rows in file order: user 1 has 6 rows, user 2 has 2, user 3 has 1, user 4 has 5.
_USERS = [1, 2, 1, 3, 4, 1, 4, 2, 1, 4, 1, 4, 1, 4]


def _rows(users: list[int]) -> Interactions:
    # The item is the row number, so a row is identified by its item.
    return interactions([(u, row, 1.0, row) for row, u in enumerate(users)])


def test_pins_the_rows_microsoft_sends_to_train_with_seed_42() -> None:
    """Seed 42 draws one number per row; the lowest round(0.75 n) per user go to train."""
    train, test = stratified_split(_rows(_USERS), ratio=0.75, seed=42, by="user")
    assert train.items.tolist() == [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 13]
    assert test.items.tolist() == [2, 11, 12]


def test_train_share_per_group_is_rounded_half_to_even() -> None:
    """A group of n rows keeps round(0.75 n) in train: 6 -> 4 (4.5 rounds down), 2 -> 2 (1.5 up)."""
    train, _ = stratified_split(_rows(_USERS), ratio=0.75, seed=42, by="user")
    kept = dict(zip(*np.unique(train.users, return_counts=True), strict=True))
    assert {int(u): int(c) for u, c in kept.items()} == {1: 4, 2: 2, 3: 1, 4: 4}


def test_parts_partition_the_rows_and_keep_file_order() -> None:
    """Every row lands in exactly one part, and each part is in file order."""
    data = _rows(_USERS * 3)
    train, test = stratified_split(data, ratio=0.6, seed=7, by="user")
    assert len(train) + len(test) == len(data)
    assert sorted(train.items.tolist() + test.items.tolist()) == list(range(len(data)))
    assert np.all(np.diff(train.items) > 0)
    assert np.all(np.diff(test.items) > 0)


def test_numpy_global_random_state_is_neither_used_nor_changed() -> None:
    """The split seeds its own RandomState: global reseeding changes nothing, no draw is taken."""
    np.random.seed(123)
    first, _ = stratified_split(_rows(_USERS), seed=42)
    after_split = np.random.random_sample()
    np.random.seed(123)
    assert np.random.random_sample() == after_split
    np.random.seed(999)
    second, _ = stratified_split(_rows(_USERS), seed=42)
    assert first.items.tolist() == second.items.tolist()


def test_item_stratification_groups_by_item() -> None:
    """by='item' applies the same rule to each item's rows."""
    data = interactions([(row, item, 1.0, row) for row, item in enumerate(_USERS)])
    by_item, _ = stratified_split(data, seed=42, by="item")
    by_user, _ = stratified_split(_rows(_USERS), seed=42, by="user")
    assert by_item.users.tolist() == by_user.items.tolist()


def test_different_seeds_choose_different_rows() -> None:
    """The seed decides which rows go to train."""
    data = _rows(_USERS * 5)
    a, _ = stratified_split(data, seed=1)
    b, _ = stratified_split(data, seed=2)
    assert a.items.tolist() != b.items.tolist()


@pytest.mark.parametrize("ratio", [0.0, 1.0, 1.25])
def test_ratio_outside_the_open_unit_interval_is_rejected(ratio: float) -> None:
    """A ratio of 0 or 1 would leave one part empty."""
    with pytest.raises(ValueError, match="ratio"):
        stratified_split(_rows(_USERS), ratio=ratio)


def test_unknown_grouping_is_rejected() -> None:
    """Only 'user' and 'item' are groupings."""
    with pytest.raises(ValueError, match="'user' or 'item'"):
        stratified_split(_rows(_USERS), by="genre")  # type: ignore[arg-type]


def test_ml100k_split_sizes_match_the_published_quick_start(ml100k: Dataset) -> None:
    """ml-100k, 0.75, seed 42: 74,992 train rows by user (as the notebook shows), 75,066 by item."""
    train, test = stratified_split(ml100k.interactions, 0.75, 42, by="user")
    assert (len(train), len(test)) == (74_992, 25_008)
    assert train.n_users == test.n_users == 943
    train, test = stratified_split(ml100k.interactions, 0.75, 42, by="item")
    assert (len(train), len(test)) == (75_066, 24_934)
