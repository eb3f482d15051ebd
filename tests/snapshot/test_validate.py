"""check_snapshot: every broken invariant is a SnapshotFormatError naming it."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from recmesh.snapshot.errors import SnapshotFormatError
from recmesh.snapshot.snapshot import Snapshot
from recmesh.snapshot.validate import (
    ARRAY_FIELDS,
    OPTIONAL_ARRAY_FIELDS,
    check_snapshot,
    freeze,
)
from tests.snapshot.datasets import example_snapshot


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


def _broken(snapshot: Snapshot, **changes: Any) -> Snapshot:
    return dataclasses.replace(snapshot, **changes)


def test_array_fields_cover_every_array_of_the_snapshot(snapshot: Snapshot) -> None:
    """The schema tables (always and optionally stored) name exactly the snapshot's numpy
    fields."""
    arrays = {
        f.name
        for f in dataclasses.fields(snapshot)
        if isinstance(getattr(snapshot, f.name), np.ndarray)
    }
    assert arrays == set(ARRAY_FIELDS) | set(OPTIONAL_ARRAY_FIELDS)
    assert not set(ARRAY_FIELDS) & set(OPTIONAL_ARRAY_FIELDS)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"item_counts": np.zeros(5, dtype=np.int32)}, "item_counts must be"),
        ({"item_genres": np.zeros(10, dtype=np.float32)}, "item_genres must be"),
        ({"popularity": np.array([1, 1, np.nan, 1, 0], dtype=np.float64)}, "NaN"),
        ({"popularity": np.array([1, 1, 1, 1, -1], dtype=np.float64)}, "negative"),
        ({"item_ids": np.array([10, 20, 20, 40, 50], dtype=np.int64)}, "strictly increasing"),
        ({"user_ids": np.array([5, 4, 3, 2, 1], dtype=np.int64)}, "strictly increasing"),
        ({"titles": ("a",)}, "titles has 1 entries"),
        ({"user_genders": ("M",) * 4}, "user_genders has 4"),
        ({"titles": ["x"] * 5}, "tuple of strings"),
        ({"item_years": np.zeros(4, dtype=np.int32)}, "item_years has 4"),
        ({"user_genre_profiles": np.zeros((5, 3), dtype=np.float32)}, "user_genre_profiles"),
        ({"item_genres": np.zeros((5, 3), dtype=np.float32)}, "item_genres must be 5 x 2"),
        ({"user_counts": np.array([1, 1, 1, 1, -1], dtype=np.int64)}, "negative counts"),
        ({"item_factors": np.zeros((5, 3), dtype=np.float32)}, "item_factors must be 5 x 32"),
        ({"user_factors": np.zeros((4, 32), dtype=np.float32)}, "user_factors must be 5 x 32"),
        ({"now": -1}, "now must not be negative"),
    ],
)
def test_broken_field_is_refused(
    snapshot: Snapshot, changes: dict[str, Any], message: str
) -> None:
    """Wrong dtype, shape, length, order, sign or finiteness of a field."""
    with pytest.raises(SnapshotFormatError, match=message):
        check_snapshot(_broken(snapshot, **changes))


def test_similarity_csr_must_be_well_formed(snapshot: Snapshot) -> None:
    """Bad indptr, out-of-range or self neighbours, duplicates and non-positive values."""
    indptr = snapshot.similarity_indptr
    cases: list[tuple[dict[str, Any], str]] = [
        ({"similarity_indptr": indptr[:-1]}, "similarity_indptr"),
        ({"similarity_indptr": indptr[::-1].copy()}, "similarity_indptr"),
        ({"similarity_values": snapshot.similarity_values[:-1]}, "disagree"),
        ({"similarity_indices": np.full_like(snapshot.similarity_indices, 5)}, r"\[0, 5\)"),
        ({"similarity_indices": np.zeros_like(snapshot.similarity_indices)}, "own neighbour"),
        ({"similarity_values": -snapshot.similarity_values}, "positive"),
    ]
    duplicated = snapshot.similarity_indices.copy()
    duplicated[1] = duplicated[0]
    cases.append(({"similarity_indices": duplicated}, "twice"))
    for changes, message in cases:
        with pytest.raises(SnapshotFormatError, match=message):
            check_snapshot(_broken(snapshot, **changes))


def test_history_csr_must_be_well_formed(snapshot: Snapshot) -> None:
    """Items in range and strictly increasing within each user; lengths agree."""
    unordered = snapshot.history_items.copy()
    unordered[[0, 1]] = unordered[[1, 0]]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"history_items": unordered}, "increase within each user"),
        ({"history_items": snapshot.history_items + 5}, r"\[0, 5\)"),
        ({"history_weights": snapshot.history_weights[:-1]}, "disagree"),
        ({"history_indptr": snapshot.history_indptr[1:]}, "history_indptr"),
    ]
    for changes, message in cases:
        with pytest.raises(SnapshotFormatError, match=message):
            check_snapshot(_broken(snapshot, **changes))


def test_equal_items_across_user_boundaries_are_allowed(snapshot: Snapshot) -> None:
    """User 1 ends with item 2 and user 2 starts with item 0: only within-user order counts."""
    check_snapshot(snapshot)
    assert snapshot.history_items[2] > snapshot.history_items[3]


def test_freeze_returns_a_read_only_contiguous_copy() -> None:
    """The original stays writable; the copy is C-contiguous and refuses writes."""
    original = np.arange(10, dtype=np.int64)[::2]
    frozen = freeze(original)
    assert frozen.flags.c_contiguous
    assert not frozen.flags.writeable
    original[0] = 7
    assert frozen[0] == 0
