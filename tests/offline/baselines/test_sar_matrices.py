"""SAR's matrices: decay, affinity, co-occurrence and similarity on hand-counted data."""

from __future__ import annotations

import numpy as np
import pytest

from offline.baselines.sar_matrices import (
    SECONDS_PER_DAY,
    Similarity,
    affinity_matrix,
    cooccurrence_matrix,
    decay_factors,
    interaction_matrix,
    similarity_matrix,
)

# Users 0, 1, 2 over items 0, 1, 2: user 0 has {0, 1}, user 1 has {0, 1, 2}, user 2 has {2}.
_ROWS = np.array([0, 0, 1, 1, 1, 2])
_COLS = np.array([0, 1, 0, 1, 2, 2])


def test_decay_halves_per_half_life_and_caps_at_one() -> None:
    """30 days old: 0.5; 60 days: 0.25; now: 1; in the future: still 1."""
    now = 1_000 * SECONDS_PER_DAY
    stamps = np.array([now, now - 30 * SECONDS_PER_DAY, now - 60 * SECONDS_PER_DAY, now + 99])
    assert decay_factors(stamps, now, 30.0).tolist() == [1.0, 0.5, 0.25, 1.0]
    with pytest.raises(ValueError, match="positive"):
        decay_factors(stamps, now, 0.0)


def test_affinity_sums_the_weights_of_repeated_pairs() -> None:
    """A (user, item) pair on two rows has the sum of their weights."""
    matrix = affinity_matrix(np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([2.0, 0.5, 3.0]),
                             (2, 2))
    assert matrix.toarray().tolist() == [[0.0, 2.5], [3.0, 0.0]]
    assert matrix.dtype == np.float64


def test_interaction_matrix_is_binary_over_distinct_pairs() -> None:
    """Repeated pairs still give a single 1."""
    matrix = interaction_matrix(np.array([0, 0, 1]), np.array([1, 1, 0]), (2, 2))
    assert matrix.toarray().tolist() == [[0, 1], [1, 0]]


def test_cooccurrence_counts_common_users_with_item_counts_on_the_diagonal() -> None:
    """Items 0 and 1 share two users, 0 and 2 one; each item has two users."""
    counts = cooccurrence_matrix(interaction_matrix(_ROWS, _COLS, (3, 3)), threshold=1)
    assert counts.dtype == np.float32
    assert counts.toarray().tolist() == [[2, 2, 1], [2, 2, 1], [1, 1, 2]]


def test_cooccurrence_threshold_drops_rare_pairs() -> None:
    """With threshold 2 the pairs seen by one user vanish."""
    counts = cooccurrence_matrix(interaction_matrix(_ROWS, _COLS, (3, 3)), threshold=2)
    assert counts.toarray().tolist() == [[2, 2, 0], [2, 2, 0], [0, 0, 2]]
    with pytest.raises(ValueError, match="threshold"):
        cooccurrence_matrix(interaction_matrix(_ROWS, _COLS, (3, 3)), threshold=0)


def test_jaccard_lift_and_raw_cooccurrence_similarities() -> None:
    """jaccard(0, 2) = 1 / (2 + 2 - 1); lift(0, 2) = 1 / (2 * 2); raw counts unchanged."""
    counts = cooccurrence_matrix(interaction_matrix(_ROWS, _COLS, (3, 3)), threshold=1)
    jaccard = similarity_matrix(counts, Similarity.JACCARD).toarray()
    third = np.float32(1) / np.float32(3)
    assert jaccard.tolist() == [[1, 1, third], [1, 1, third], [third, third, 1]]
    assert jaccard.dtype == np.float32
    lift = similarity_matrix(counts, Similarity.LIFT).toarray()
    assert lift.tolist() == [[0.5, 0.5, 0.25], [0.5, 0.5, 0.25], [0.25, 0.25, 0.5]]
    raw = similarity_matrix(counts, Similarity.COOCCURRENCE)
    assert raw.toarray().tolist() == counts.toarray().tolist()
