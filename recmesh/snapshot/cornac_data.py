"""Positive pairs as a cornac Dataset whose user and item indices are their positions."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from cornac.data import Dataset
from numpy.typing import NDArray


def cornac_dataset(
    users: NDArray[np.integer[Any]],
    items: NDArray[np.integer[Any]],
    values: NDArray[np.floating[Any]],
    shape: tuple[int, int],
) -> Any:
    """The pairs (`users[j]`, `items[j]`) with `values[j]`, positions in a `shape` users x
    items matrix, as a cornac Dataset of that shape (users and items without pairs
    included). A pair given twice keeps its first value, as cornac does; cornac samples
    pairs in the order given."""
    # cornac numbers ids in the order of the maps it is given: positions, so that its
    # rows and columns are ours.
    return Dataset.build(
        list(zip(users.tolist(), items.tolist(), values.tolist(), strict=True)),
        fmt="UIR",
        global_uid_map=OrderedDict((u, u) for u in range(shape[0])),
        global_iid_map=OrderedDict((i, i) for i in range(shape[1])),
    )
