"""Training interactions as a cornac Dataset whose user and item indices are ours."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from cornac.data import Dataset

from offline.baselines.dense_scores import TrainingMatrix
from recmesh.data.dataset import Interactions


def cornac_dataset(matrix: TrainingMatrix, train: Interactions, *, ratings: bool) -> Any:
    """`train` as a cornac Dataset, user i and item j at the positions `matrix` gives them.

    Values are the ratings with `ratings`, else 1. A pair seen twice keeps its
    first row, as cornac does.
    """
    # cornac numbers ids in the order of the maps it is given: ours, so that its
    # matrix rows and columns are the positions of `matrix`.
    user_map = OrderedDict((int(u), row) for row, u in enumerate(matrix.users.ids.tolist()))
    item_map = OrderedDict((int(i), col) for col, i in enumerate(matrix.items.ids.tolist()))
    values = train.ratings if ratings else np.ones(len(train), dtype=np.float32)
    triplets = zip(train.users.tolist(), train.items.tolist(), values.tolist(), strict=True)
    return Dataset.build(
        list(triplets), fmt="UIR", global_uid_map=user_map, global_iid_map=item_map
    )
