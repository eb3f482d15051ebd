"""SAR-style item-to-item similarity: co-occurrence over users, pruned to top-N per item.

The co-occurrence matrix is computed a block of item rows at a time, so memory stays at
one (block x n_items) dense block however large the catalogue: no item x item matrix is
ever held whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from recmesh.snapshot.config import SimilarityKind

# Elements of one dense co-occurrence block (float64): 16 MB, whatever the catalogue size.
_BLOCK_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class SimilarityCsr:
    """Row i: the neighbours of item i, most similar first (ties: lower index first).

    Invariants: `indptr` has n_items + 1 entries from 0 to len(indices); no row holds its
    own item, an item twice, or a value <= 0.
    """

    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]
    values: NDArray[np.float32]


def item_similarity(
    pair_users: NDArray[np.int64],
    pair_items: NDArray[np.int64],
    n_users: int,
    n_items: int,
    kind: SimilarityKind,
    neighbors_per_item: int,
    min_cooccurrence: int,
) -> SimilarityCsr:
    """Similarity of items over distinct (user index, item index) pairs.

    With c_i the number of users of item i and c_ij the number who used both i and j
    (pairs with c_ij < min_cooccurrence count as 0): jaccard = c_ij / (c_i + c_j - c_ij),
    lift = c_ij / (c_i * c_j), both computed in float32 (counts are exact below 2**24
    users). Each row keeps its `neighbors_per_item` largest values.
    """
    ones = np.ones(pair_users.shape[0], dtype=np.float32)
    user_item = sparse.csr_matrix((ones, (pair_users, pair_items)), shape=(n_users, n_items))
    item_user = user_item.T.tocsr()
    item_users = np.bincount(pair_items, minlength=n_items).astype(np.float32)
    block = max(1, _BLOCK_ELEMENTS // max(n_items, 1))
    rows_out: list[NDArray[np.int64]] = []
    cols_out: list[NDArray[np.int64]] = []
    vals_out: list[NDArray[np.float32]] = []
    for start in range(0, n_items, block):
        stop = min(start + block, n_items)
        counts = np.asarray((item_user[start:stop] @ user_item).toarray(), dtype=np.float32)
        counts[np.arange(stop - start), np.arange(start, stop)] = 0.0
        counts[counts < min_cooccurrence] = 0.0
        values = _similarity(counts, item_users[start:stop], item_users, kind)
        rows, cols = _top_per_row(values, neighbors_per_item)
        rows_out.append(rows + start)
        cols_out.append(cols)
        vals_out.append(values[rows, cols])
    rows_all = np.concatenate(rows_out) if rows_out else np.zeros(0, dtype=np.int64)
    cols_all = np.concatenate(cols_out) if cols_out else np.zeros(0, dtype=np.int64)
    vals_all = np.concatenate(vals_out) if vals_out else np.zeros(0, dtype=np.float32)
    order = np.lexsort((cols_all, -vals_all, rows_all))
    indptr = np.zeros(n_items + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows_all, minlength=n_items), out=indptr[1:])
    return SimilarityCsr(
        indptr=indptr,
        indices=cols_all[order].astype(np.int64),
        values=vals_all[order].astype(np.float32),
    )


def _similarity(
    counts: NDArray[np.float32],
    row_users: NDArray[np.float32],
    col_users: NDArray[np.float32],
    kind: SimilarityKind,
) -> NDArray[np.float32]:
    """Overwrites `counts` with the similarity and returns it."""
    positive = counts > 0
    if kind == "jaccard":
        denominator = row_users[:, None] + col_users[None, :]
        denominator -= counts
    else:
        denominator = row_users[:, None] * col_users[None, :]
    # Where counts > 0 both items have users, so the denominator is positive.
    np.divide(counts, denominator, out=counts, where=positive)
    return counts


def _top_per_row(
    values: NDArray[np.float32], k: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(row, col) of each row's k largest positive values; ties at the cut: lower col first."""
    keep = values > 0
    crowded = np.flatnonzero(keep.sum(axis=1) > k)
    if crowded.shape[0]:
        sub = values[crowded]
        kth = -np.partition(-sub, k - 1, axis=1)[:, k - 1 : k]
        above = sub > kth
        ties = sub == kth
        room = k - above.sum(axis=1, keepdims=True)
        keep[crowded] = above | (ties & (np.cumsum(ties, axis=1) <= room))
    rows, cols = np.nonzero(keep)
    return rows.astype(np.int64), cols.astype(np.int64)
