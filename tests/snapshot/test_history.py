"""User history, seen mask, neighbour edges and SAR scores against naive loops."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.snapshot.history import (
    EMPTY_HISTORY,
    neighbour_edges,
    sar_scores,
    seen_mask,
    user_history,
)
from recmesh.snapshot.snapshot import Snapshot
from tests.snapshot.datasets import example_snapshot


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


def test_user_history_is_the_users_csr_row(snapshot: Snapshot) -> None:
    """User 3 (index 2) holds items 1, 2, 3 with their ratings."""
    history = user_history(snapshot, 2)
    assert history.item_indices.tolist() == [1, 2, 3]
    assert history.ratings.tolist() == [5.0, 4.0, 1.0]
    assert len(history) == 3


def test_unknown_user_has_the_empty_history(snapshot: Snapshot) -> None:
    """None gives EMPTY_HISTORY; a user without interactions an empty one."""
    assert user_history(snapshot, None) is EMPTY_HISTORY
    assert len(user_history(snapshot, 4)) == 0


def test_seen_mask_marks_exactly_the_history(snapshot: Snapshot) -> None:
    """One flag per catalogue item, set for the history's items."""
    assert seen_mask(snapshot, user_history(snapshot, 1)).tolist() == [
        True,
        True,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize("user", [0, 1, 2, 3, 4])
def test_neighbour_edges_match_a_loop_over_the_history(snapshot: Snapshot, user: int) -> None:
    """Edges are the similarity rows of the history items, in history order."""
    history = user_history(snapshot, user)
    items: list[int] = []
    similarities: list[float] = []
    affinities: list[float] = []
    for item, weight in zip(history.item_indices, history.weights, strict=True):
        start, stop = snapshot.similarity_indptr[item], snapshot.similarity_indptr[item + 1]
        items.extend(snapshot.similarity_indices[start:stop].tolist())
        similarities.extend(snapshot.similarity_values[start:stop].tolist())
        affinities.extend([float(weight)] * int(stop - start))
    edges = neighbour_edges(snapshot, history)
    assert edges.items.tolist() == items
    assert edges.similarities.tolist() == similarities
    assert edges.affinities.tolist() == affinities


def test_sar_scores_sum_affinity_times_similarity(snapshot: Snapshot) -> None:
    """User 2 (items 10, 20): item 30 scores w10 * J(10,30) + w20 * J(20,30)."""
    history = user_history(snapshot, 1)
    w10, w20 = (float(w) for w in history.weights)
    scores = sar_scores(snapshot, neighbour_edges(snapshot, history))
    assert scores.dtype == np.float32
    assert scores[2] == pytest.approx(w10 * 0.25 + w20 * 2 / 3, rel=1e-6)
    assert scores[3] == pytest.approx(w20 * 1 / 3, rel=1e-6)
    assert scores[4] == 0.0
