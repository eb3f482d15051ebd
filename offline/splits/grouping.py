"""Ranks of rows within groups, the building block of every per-group split."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def ranks_in_sorted_groups(
    sorted_keys: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(rank, group size) of each row of `sorted_keys`, whose equal keys are adjacent.

    Ranks are 1-based and follow the row order inside each group; the group
    size is repeated on every row of the group.
    """
    n = sorted_keys.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sizes = np.diff(np.r_[starts, n])
    group = np.repeat(np.arange(starts.shape[0]), sizes)
    rank = np.arange(n, dtype=np.int64) - starts[group] + 1
    return rank.astype(np.int64), sizes[group].astype(np.int64)


def scatter_mask(order: NDArray[np.intp], sorted_mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The mask in file order of rows whose position in `order` has `sorted_mask` true."""
    mask = np.empty(order.shape[0], dtype=np.bool_)
    mask[order] = sorted_mask
    return mask


def check_fraction(value: float, name: str) -> None:
    """Raises ValueError unless 0 < value < 1 (so both parts of a split can be non-empty)."""
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
