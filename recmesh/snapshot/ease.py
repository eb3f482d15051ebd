"""EASE^R (Steck, 2019) by cornac, and the snapshot's sparse top-N of its item weights.

B = I - P / diag(P) with P = (X'X + lambda I)^-1 and a zero diagonal, negative weights
dropped when `positive_only` (cornac's `posB`); score(user) = X[user] B. No randomness: a
fit depends on the data alone. numpy's BLAS and LAPACK run on `threads` threads during
the fit. B is dense (items x items), so a snapshot keeps only each item's N largest
positive weights (`ease_neighbours`), which the "ease" candidate source sums over a
user's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from cornac.models import EASE
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from recmesh.snapshot.cornac_data import cornac_dataset

# Rows of B ranked per block, so that ranking holds a few copies of a block, not of B.
_ROWS_PER_BLOCK = 1024


@dataclass(frozen=True)
class EaseFit:
    """`inputs` (users x items CSR, float64) is X as cornac built it, `weights` (items x
    items, float64) is B."""

    inputs: Any
    weights: NDArray[np.float64]


@dataclass(frozen=True)
class EaseNeighbours:
    """CSR over items: row h lists the items j with the largest weights B[h, j] > 0,
    largest first (ties: lower index first), `values` (float32, > 0) those weights."""

    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]
    values: NDArray[np.float32]


def ease_fit(
    users: NDArray[np.integer[Any]],
    items: NDArray[np.integer[Any]],
    values: NDArray[np.floating[Any]],
    shape: tuple[int, int],
    l2: float,
    positive_only: bool,
    threads: int,
) -> EaseFit:
    """EASE of the pairs (`users[j]`, `items[j]`) with X's entries `values[j]`, positions
    in a `shape` users x items matrix (a pair given twice keeps its first value)."""
    dataset = cornac_dataset(users, items, values, shape)
    model = EASE(lamb=l2, posB=positive_only, verbose=False)
    with threadpool_limits(limits=threads, user_api="blas"):
        model.fit(dataset)
    return EaseFit(
        inputs=dataset.matrix.astype(np.float64).tocsr(),
        weights=np.asarray(model.B, dtype=np.float64),
    )


def ease_neighbours(
    indptr: NDArray[np.int64],
    items: NDArray[np.int64],
    shape: tuple[int, int],
    l2: float,
    neighbors: int,
) -> EaseNeighbours:
    """The top `neighbors` weights per item of EASE over the binary users x items history
    CSR (`indptr`, `items`), negative weights dropped, on one BLAS thread."""
    users = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(indptr))
    ones = np.ones(items.shape[0], dtype=np.float32)
    fit = ease_fit(users, items, ones, shape, l2, positive_only=True, threads=1)
    return top_weights(fit.weights, neighbors)


def top_weights(weights: NDArray[np.floating[Any]], n: int) -> EaseNeighbours:
    """Per row of the square `weights`, its n largest entries above 0 as float32 (ties:
    lower column first), as CSR."""
    m = weights.shape[0]
    k = min(n, m)
    indices: list[NDArray[np.int64]] = []
    values: list[NDArray[np.float32]] = []
    counts = np.zeros(m, dtype=np.int64)
    for start in range(0, m, _ROWS_PER_BLOCK):
        block = weights[start : start + _ROWS_PER_BLOCK].astype(np.float32)
        # The k-th largest entry of each row: only entries at least that large compete.
        threshold = -np.partition(-block, k - 1, axis=1)[:, k - 1 : k]
        rows, cols = np.nonzero((block >= threshold) & (block > 0))
        found = block[rows, cols]
        order = np.lexsort((cols, -found, rows))
        rows, cols, found = rows[order], cols[order], found[order]
        per_row = np.bincount(rows, minlength=block.shape[0])
        rank = np.arange(rows.shape[0]) - np.repeat(np.cumsum(per_row) - per_row, per_row)
        keep = rank < k
        indices.append(cols[keep].astype(np.int64))
        values.append(found[keep])
        counts[start : start + block.shape[0]] = np.minimum(per_row, k)
    return EaseNeighbours(
        indptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        indices=np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
        values=np.concatenate(values) if values else np.zeros(0, dtype=np.float32),
    )
