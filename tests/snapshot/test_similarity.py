"""item_similarity: Jaccard and lift over users, co-occurrence threshold, top-N pruning."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.snapshot import similarity
from recmesh.snapshot.config import SimilarityKind
from recmesh.snapshot.similarity import SimilarityCsr, item_similarity

# Users of each item: 0 -> {0, 1, 3}, 1 -> {0, 1, 2}, 2 -> {0, 2}, 3 -> {2}, 4 -> {}.
PAIRS = np.array(
    [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 1), (2, 2), (2, 3), (3, 0)], dtype=np.int64
)


def _similarity(
    kind: SimilarityKind, neighbors: int = 10, min_cooccurrence: int = 1
) -> SimilarityCsr:
    return item_similarity(PAIRS[:, 0], PAIRS[:, 1], 4, 5, kind, neighbors, min_cooccurrence)


def _rows(csr: SimilarityCsr) -> list[list[tuple[int, float]]]:
    return [
        list(
            zip(
                csr.indices[a:b].tolist(),
                csr.values[a:b].tolist(),
                strict=True,
            )
        )
        for a, b in zip(csr.indptr[:-1], csr.indptr[1:], strict=True)
    ]


def f32(value: float) -> float:
    return float(np.float32(value))


def test_jaccard_is_co_users_over_union_of_users() -> None:
    """c_ij / (c_i + c_j - c_ij), most similar first; no item is its own neighbour."""
    assert _rows(_similarity("jaccard")) == [
        [(1, f32(2 / 4)), (2, f32(1 / 4))],
        [(2, f32(2 / 3)), (0, f32(2 / 4)), (3, f32(1 / 3))],
        [(1, f32(2 / 3)), (3, f32(1 / 2)), (0, f32(1 / 4))],
        [(2, f32(1 / 2)), (1, f32(1 / 3))],
        [],
    ]


def test_lift_is_co_users_over_product_of_users() -> None:
    """c_ij / (c_i * c_j); equal values keep the lower index first."""
    assert _rows(_similarity("lift")) == [
        [(1, f32(2 / 9)), (2, f32(1 / 6))],
        [(2, f32(2 / 6)), (3, f32(1 / 3)), (0, f32(2 / 9))],
        [(3, f32(1 / 2)), (1, f32(2 / 6)), (0, f32(1 / 6))],
        [(2, f32(1 / 2)), (1, f32(1 / 3))],
        [],
    ]


def test_pairs_below_min_cooccurrence_are_not_neighbours() -> None:
    """With min_cooccurrence 2 only the pairs two users share remain."""
    assert _rows(_similarity("jaccard", min_cooccurrence=2)) == [
        [(1, f32(2 / 4))],
        [(2, f32(2 / 3)), (0, f32(2 / 4))],
        [(1, f32(2 / 3))],
        [],
        [],
    ]


def test_pruning_keeps_the_top_n_and_breaks_ties_by_lower_index() -> None:
    """Lift row 1 holds 1/3 twice (items 2 and 3): one neighbour keeps item 2."""
    rows = _rows(_similarity("lift", neighbors=1))
    assert rows[1] == [(2, f32(2 / 6))]
    assert rows[2] == [(3, f32(1 / 2))]


def test_block_size_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Computing one item row per block gives the same matrix as one block."""
    whole = _similarity("jaccard", neighbors=2)
    monkeypatch.setattr(similarity, "_BLOCK_ELEMENTS", 1)
    blocked = _similarity("jaccard", neighbors=2)
    assert np.array_equal(whole.indptr, blocked.indptr)
    assert np.array_equal(whole.indices, blocked.indices)
    assert np.array_equal(whole.values, blocked.values)


def test_result_arrays_have_the_snapshot_dtypes() -> None:
    """indptr and indices are int64, values float32."""
    csr = _similarity("jaccard")
    assert (csr.indptr.dtype, csr.indices.dtype, csr.values.dtype) == (
        np.dtype(np.int64),
        np.dtype(np.int64),
        np.dtype(np.float32),
    )
