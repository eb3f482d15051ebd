"""top_positive: best first, ties by lower index, only positive scores, at most n."""

from __future__ import annotations

import numpy as np

from recmesh.core.candidates.sources.selection import top_positive


def test_best_first_with_ties_broken_by_lower_index() -> None:
    """Scores 2, 3, 3, 1 -> items 1, 2 (tie, lower first), 0, 3."""
    result = top_positive(np.array([2, 3, 3, 1], dtype=np.float32), 10)
    assert result.item_indices.tolist() == [1, 2, 0, 3]
    assert result.scores.tolist() == [3, 3, 2, 1]


def test_only_positive_scores_are_returned() -> None:
    """Zero and negative scores mean 'not found'."""
    result = top_positive(np.array([0, -1, 5, 0], dtype=np.float32), 10)
    assert result.item_indices.tolist() == [2]


def test_at_most_n_and_ties_at_the_cut_keep_lower_indices() -> None:
    """Four items tie at 1 for the last two places: items 1 and 2 win."""
    scores = np.array([9, 1, 1, 1, 1, 0], dtype=np.float32)
    result = top_positive(scores, 3)
    assert result.item_indices.tolist() == [0, 1, 2]


def test_matches_a_full_sort_on_random_scores() -> None:
    """The partition shortcut selects exactly what a full lexsort would."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        scores = (rng.integers(0, 20, 300) * (rng.random(300) < 0.5)).astype(np.float32)
        result = top_positive(scores, 40)
        positive = np.flatnonzero(scores > 0)
        order = np.lexsort((positive, -scores[positive]))[:40]
        assert result.item_indices.tolist() == positive[order].tolist()
        assert result.scores.tolist() == scores[positive[order]].tolist()


def test_result_dtypes() -> None:
    """int64 item indices and float32 scores."""
    result = top_positive(np.array([1, 2], dtype=np.float32), 1)
    assert result.item_indices.dtype == np.int64
    assert result.scores.dtype == np.float32
