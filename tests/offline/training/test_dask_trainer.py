"""How the Dask trainer cuts the groups into one block per worker (the training itself is
tested on a local cluster in tests/offline/experiment/test_cluster.py)."""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from offline.training.dask_trainer import group_blocks


def _sizes(*sizes: int) -> NDArray[np.int64]:
    return np.array(sizes, dtype=np.int64)


def test_blocks_hold_whole_groups_and_every_row_once() -> None:
    """Blocks are contiguous, start and end on group boundaries and cover all rows."""
    sizes = _sizes(5, 3, 8, 2, 7, 1, 4)
    boundaries = {0, *np.cumsum(sizes).tolist()}
    blocks = group_blocks(sizes, 3)
    assert blocks[0][0] == 0
    assert blocks[-1][1] == int(sizes.sum())
    for (_, stop), (start, _) in itertools.pairwise(blocks):
        assert stop == start
    assert all(start in boundaries and stop in boundaries for start, stop in blocks)
    assert len(blocks) == 3


def test_blocks_are_about_equal_in_rows() -> None:
    """Equal groups split evenly between the workers."""
    assert group_blocks(_sizes(*[10] * 8), 2) == [(0, 40), (40, 80)]
    assert group_blocks(_sizes(*[10] * 9), 3) == [(0, 30), (30, 60), (60, 90)]


def test_fewer_groups_than_workers_give_fewer_blocks() -> None:
    """A worker is left without data rather than given an empty or split group."""
    assert group_blocks(_sizes(4, 6), 4) == [(0, 4), (4, 10)]
    assert group_blocks(_sizes(100), 2) == [(0, 100)]
    assert group_blocks(_sizes(), 2) == []
