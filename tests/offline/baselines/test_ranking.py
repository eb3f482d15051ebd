"""Deterministic top-k selection from score matrices, and building TopK from it."""

from __future__ import annotations

import numpy as np
import pytest

from offline.baselines.ranking import check_request, lists_from_columns, top_k_columns, top_k_lists
from offline.topk import PAD


def test_top_k_columns_ranks_best_first() -> None:
    """Columns come back in descending score order."""
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [3.0, 1.0, 2.0, 0.0]])
    assert top_k_columns(scores, 2).tolist() == [[1, 3], [0, 2]]


def test_ties_are_broken_by_the_lower_column_even_across_the_cut() -> None:
    """Equal scores rank by column, inside the top k and at its boundary."""
    scores = np.array([[1.0, 2.0, 2.0, 2.0, 0.0], [5.0, 5.0, 5.0, 5.0, 5.0]])
    assert top_k_columns(scores, 2).tolist() == [[1, 2], [0, 1]]
    assert top_k_columns(scores, 4).tolist() == [[1, 2, 3, 0], [0, 1, 2, 3]]


def test_tie_breaking_matches_a_full_stable_sort_on_random_ties() -> None:
    """On coarse random scores full of ties, the result equals a stable descending sort."""
    scores = np.random.default_rng(0).integers(0, 4, size=(300, 40)).astype(np.float64)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :7]
    assert np.array_equal(top_k_columns(scores, 7), expected)


def test_k_wider_than_the_matrix_keeps_every_column() -> None:
    """With k >= width, all columns are returned, ranked."""
    assert top_k_columns(np.array([[1.0, 3.0, 2.0]]), 5).tolist() == [[1, 2, 0]]


def test_nan_scores_are_rejected() -> None:
    """A NaN score has no rank: ValueError."""
    with pytest.raises(ValueError, match="NaN"):
        top_k_columns(np.array([[np.nan, 1.0]]), 1)


def test_top_k_lists_maps_columns_to_item_ids_and_pads_forbidden_items() -> None:
    """-inf items become empty slots; lists are padded to k."""
    users = np.array([4, 2], dtype=np.int64)
    items = np.array([100, 200, 300], dtype=np.int64)
    scores = np.array([[0.5, -np.inf, 0.7], [-np.inf, -np.inf, 1.0]])
    lists = top_k_lists(users, items, scores, 4)
    assert lists.users.tolist() == [4, 2]
    assert lists.items.tolist() == [[300, 100, PAD, PAD], [300, PAD, PAD, PAD]]
    assert lists.scores[0, :2].tolist() == pytest.approx([0.7, 0.5])


def test_lists_from_columns_keeps_the_given_order() -> None:
    """The given ranking stands even where the given values are equal."""
    lists = lists_from_columns(
        np.array([1], dtype=np.int64),
        np.array([10, 20, 30], dtype=np.int64),
        np.array([[2, 0]]),
        np.array([[1.0, 1.0]]),
        2,
    )
    assert lists.items.tolist() == [[30, 10]]


def test_requests_need_distinct_users_and_positive_k() -> None:
    """Duplicate users or k < 1 are ValueErrors."""
    with pytest.raises(ValueError, match="distinct"):
        check_request(np.array([1, 1], dtype=np.int64), 3)
    with pytest.raises(ValueError, match="k must be"):
        check_request(np.array([1], dtype=np.int64), 0)
