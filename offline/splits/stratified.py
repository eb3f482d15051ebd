"""Random splits stratified by user or item, exactly as Microsoft Recommenders makes them.

`stratified_split` reproduces `python_stratified_split` of Microsoft
Recommenders in the version that produced its published MovieLens figures
(`split_pandas_data_with_ratios` per group): seed numpy's Mersenne Twister,
draw one uniform number per row in file order, sort rows by (group, draw), and
send the first `round(ratio * group size)` rows of each group to train, with
Python's round-half-to-even. (The current upstream code keeps rows with
`rank / size <= ratio` instead, i.e. floor; on ml-100k that puts 74,646 rows in
train instead of 74,992 and does not reproduce the published figures.)
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from offline.splits.grouping import check_fraction, ranks_in_sorted_groups, scatter_mask
from recmesh.data.dataset import Interactions

StratifyBy = Literal["user", "item"]


def stratified_split(
    interactions: Interactions,
    ratio: float = 0.75,
    seed: int = 42,
    by: StratifyBy = "user",
) -> tuple[Interactions, Interactions]:
    """(train, test): about `ratio` of every user's (or item's) rows in train, at random.

    Each group of n rows puts exactly round(ratio * n) rows (half to even) in
    train and the rest in test; which rows is decided by
    `np.random.RandomState(seed).rand`, one draw per row in file order (the
    stream `np.random.seed(seed); np.random.rand(n)` gives, without touching
    numpy's global state). Both parts keep file order. Raises ValueError unless
    0 < ratio < 1, or for an unknown `by`.
    """
    check_fraction(ratio, "ratio")
    if by == "user":
        keys = interactions.users
    elif by == "item":
        keys = interactions.items
    else:
        raise ValueError(f"by must be 'user' or 'item', got {by!r}")
    draws = np.random.RandomState(seed).random_sample(len(interactions))
    # lexsort is stable, so equal draws (never seen in practice) keep file order.
    order = np.lexsort((draws, keys))
    rank, size = ranks_in_sorted_groups(keys[order])
    in_train = scatter_mask(order, rank <= np.round(ratio * size))
    return interactions.select(in_train), interactions.select(~in_train)
