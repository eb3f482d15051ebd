"""Snapshot lookups: item and user indices, user id parsing, history presence."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.snapshot.snapshot import Snapshot, indices_in
from tests.snapshot.datasets import example_snapshot


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


def test_item_indices_of_maps_ids_and_marks_unknown_with_minus_one(snapshot: Snapshot) -> None:
    """Catalogue ids map to their positions; ids outside the catalogue give -1."""
    ids = np.array([50, 10, 35, 99, 5, 30], dtype=np.int64)
    assert snapshot.item_indices_of(ids).tolist() == [4, 0, -1, -1, -1, 2]


def test_user_indices_of_maps_ids_and_marks_unknown_with_minus_one(snapshot: Snapshot) -> None:
    """Snapshot users map to their positions; others give -1."""
    ids = np.array([5, 1, 6, 0], dtype=np.int64)
    assert snapshot.user_indices_of(ids).tolist() == [4, 0, -1, -1]


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [(1, 0), ("1", 0), ("3", 2), (5, 4), ("6", None), (-1, None), ("-1", None)],
)
def test_user_index_accepts_ints_and_decimal_strings(
    snapshot: Snapshot, user_id: str | int, expected: int | None
) -> None:
    """Known ids give their index, unknown ids None."""
    assert snapshot.user_index(user_id) == expected


@pytest.mark.parametrize("user_id", ["", " 1", "1 ", "+1", "1.0", "1e0", "0x1", "1_0", "１"])
def test_user_index_refuses_anything_but_plain_decimal_strings(
    snapshot: Snapshot, user_id: str
) -> None:
    """Strings int() would accept with spaces, signs, underscores or non-ASCII digits are
    unknown users, not user 1."""
    assert snapshot.user_index(user_id) is None


def test_user_index_of_out_of_range_integers_is_none(snapshot: Snapshot) -> None:
    """Integers beyond int64 name no user instead of overflowing."""
    assert snapshot.user_index(2**70) is None
    assert snapshot.user_index("9" * 18) is None


def test_has_history_distinguishes_users_without_interactions(snapshot: Snapshot) -> None:
    """User 5 has demographics but no interaction; None is never known."""
    assert snapshot.has_history(snapshot.user_index(1))
    assert not snapshot.has_history(snapshot.user_index(5))
    assert not snapshot.has_history(None)


def test_indices_in_an_empty_id_array_are_all_minus_one() -> None:
    """Looking up in an empty catalogue finds nothing."""
    empty = np.zeros(0, dtype=np.int64)
    assert indices_in(empty, np.array([1, 2], dtype=np.int64)).tolist() == [-1, -1]
