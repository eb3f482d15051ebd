"""From a dense score matrix to ranked lists: deterministic top-k, seen-item removal."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from offline.topk import PAD, TopK


def check_request(users: NDArray[np.int64], k: int) -> None:
    """Raises ValueError for k < 1 or users that are not a 1-D array of distinct ids."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if users.ndim != 1 or np.unique(users).shape[0] != users.shape[0]:
        raise ValueError("users must be a 1-D array of distinct ids")


def top_k_columns(scores: NDArray[np.float64], k: int) -> NDArray[np.intp]:
    """Columns of each row's min(k, width) highest scores, best first.

    Ties are broken by the lower column, so the result does not depend on the
    partition algorithm. Raises ValueError if a score is NaN.
    """
    if np.isnan(scores).any():
        raise ValueError("scores must not be NaN")
    n, width = scores.shape
    kept = min(k, width)
    if kept < width:
        top = np.argpartition(-scores, kept - 1, axis=1)[:, :kept]
        kth = np.take_along_axis(scores, top, axis=1).min(axis=1)
        # Rows with a tie across the cut: which tied column argpartition kept is
        # arbitrary, so those rows (rare) are ranked by a full stable sort instead.
        crowded = (scores >= kth[:, None]).sum(axis=1) > kept
        if crowded.any():
            top[crowded] = np.argsort(-scores[crowded], axis=1, kind="stable")[:, :kept]
    else:
        top = np.broadcast_to(np.arange(width, dtype=np.intp), (n, width)).copy()
    values = np.take_along_axis(scores, top, axis=1)
    order = np.lexsort((top, -values), axis=1)
    ranked: NDArray[np.intp] = np.take_along_axis(top, order, axis=1)
    return ranked


def top_k_lists(
    users: NDArray[np.int64], item_ids: NDArray[np.int64], scores: NDArray[np.float64], k: int
) -> TopK:
    """The TopK of `scores` (users x items, columns named by `item_ids`).

    -inf marks an item that may not be recommended: it becomes an empty slot.
    Lists are padded to width k when there are fewer than k items.
    """
    columns = top_k_columns(scores, k)
    return lists_from_columns(
        users, item_ids, columns, np.take_along_axis(scores, columns, axis=1), k
    )


def lists_from_columns(
    users: NDArray[np.int64],
    item_ids: NDArray[np.int64],
    columns: NDArray[np.intp],
    values: NDArray[np.float64],
    k: int,
) -> TopK:
    """The TopK whose row r lists item_ids[columns[r]] with scores values[r], as given.

    `columns` (n x width <= k) must already be ranked and `values` non-increasing
    along each row; -inf values become empty slots; rows are padded to width k.
    """
    items = np.full((users.shape[0], k), PAD, dtype=np.int64)
    kept = np.full((users.shape[0], k), -np.inf, dtype=np.float64)
    width = columns.shape[1]
    usable = np.isfinite(values)
    items[:, :width] = np.where(usable, item_ids[columns], PAD)
    kept[:, :width] = np.where(usable, values, -np.inf)
    return TopK(users=users.astype(np.int64), items=items, scores=kept.astype(np.float32))

