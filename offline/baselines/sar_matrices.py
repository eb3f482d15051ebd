"""The matrices of SAR: time-decayed user affinity, item co-occurrence, item similarity.

Numerically these follow Microsoft Recommenders' `SARSingleNode` so that SAR's
published figures reproduce: affinities are float64 (the float32 rating times
a float64 decay factor), co-occurrence counts and similarities are float32 and
computed with the same float32 operations (`jaccard` is c_ij / (c_i + c_j - c_ij)
with the sum c_i + c_j taken first). Unlike `SARSingleNode`, similarities stay
sparse (a pair that never co-occurs has similarity 0 either way), and
co-occurrence counts distinct users even if a (user, item) pair repeats.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

SECONDS_PER_DAY = 24 * 60 * 60

# scipy.sparse ships without type information; this alias documents intent.
CsrMatrix = Any


class Similarity(Enum):
    """How co-occurrence counts become item similarities."""

    COOCCURRENCE = "cooccurrence"
    JACCARD = "jaccard"
    LIFT = "lift"


def decay_factors(
    timestamps: NDArray[np.int64], now: int, half_life_days: float
) -> NDArray[np.float64]:
    """0.5 ** ((now - t) / half-life) per row, capped at 1 for rows after `now`."""
    if not half_life_days > 0:
        raise ValueError(f"half_life_days must be positive, got {half_life_days!r}")
    half_life = half_life_days * SECONDS_PER_DAY
    factors: NDArray[np.float64] = np.minimum(
        1.0, np.power(0.5, (now - timestamps) / half_life)
    )
    return factors


def affinity_matrix(
    rows: NDArray[np.intp],
    cols: NDArray[np.intp],
    weights: NDArray[np.float64],
    shape: tuple[int, int],
) -> CsrMatrix:
    """Users x items CSR (float64) holding the sum of `weights` of each (row, col) pair."""
    matrix = sparse.coo_matrix((weights.astype(np.float64), (rows, cols)), shape=shape).tocsr()
    matrix.sum_duplicates()
    return matrix


def interaction_matrix(
    rows: NDArray[np.intp], cols: NDArray[np.intp], shape: tuple[int, int]
) -> CsrMatrix:
    """Users x items CSR (int64) with a 1 for each distinct (row, col) pair."""
    ones = np.ones(rows.shape[0], dtype=np.int64)
    matrix = sparse.coo_matrix((ones, (rows, cols)), shape=shape).tocsr()
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def cooccurrence_matrix(interactions: CsrMatrix, threshold: int) -> CsrMatrix:
    """Items x items CSR (float32): users who interacted with both items.

    The diagonal holds each item's number of users. Counts below `threshold`
    (>= 1) are dropped, the diagonal included, as SARSingleNode does.
    """
    if threshold < 1:
        raise ValueError(f"threshold must be >= 1, got {threshold}")
    counts = (interactions.T @ interactions).tocsr()
    counts.data[counts.data < threshold] = 0
    counts.eliminate_zeros()
    counts.sort_indices()
    return counts.astype(np.float32)


def similarity_matrix(cooccurrence: CsrMatrix, kind: Similarity) -> CsrMatrix:
    """Items x items CSR (float32) of similarities, with the sparsity of `cooccurrence`."""
    if kind is Similarity.COOCCURRENCE:
        return cooccurrence.copy()
    coo = cooccurrence.tocoo()
    diagonal = cooccurrence.diagonal().astype(np.float32)
    counts = coo.data.astype(np.float32)
    if kind is Similarity.JACCARD:
        values = counts / (diagonal[coo.row] + diagonal[coo.col] - counts)
    else:
        values = counts / (diagonal[coo.row] * diagonal[coo.col])
    result = sparse.csr_matrix((values, (coo.row, coo.col)), shape=cooccurrence.shape)
    result.sort_indices()
    return result
