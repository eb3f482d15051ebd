"""Lists from a model that scores every training item for a user: the library baselines' part.

A library model (implicit's ALS and BPR, cornac's EASE) is fitted on the
training users x items matrix and gives a dense score row per user. This module
holds what they share: the id <-> position maps of that matrix and the ranking
of score rows into lists, in blocks, without the user's training items, with
ties broken by the lower item id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.baselines.id_index import IdIndex
from offline.baselines.ranking import check_request, top_k_lists
from offline.baselines.sar_matrices import CsrMatrix, interaction_matrix
from offline.topk import PAD, TopK
from recmesh.data.dataset import Interactions

# Score cells computed at once when recommending: bounds memory for any user count.
_BLOCK_CELLS = 1 << 22

#: Dense scores (rows x training items, float64) of the given user positions.
RowScorer = Callable[[NDArray[np.intp]], NDArray[np.float64]]


@dataclass(frozen=True)
class TrainingMatrix:
    """The training pairs as a users x items 0/1 CSR (`seen`, int64); rows follow
    `users`, columns follow `items`."""

    users: IdIndex
    items: IdIndex
    seen: CsrMatrix

    @classmethod
    def of(cls, train: Interactions) -> TrainingMatrix:
        """The matrix of `train` (not modified); raises ValueError when it is empty."""
        if len(train) == 0:
            raise ValueError("cannot fit a model on empty training data")
        return cls.including_empty(train)

    @classmethod
    def including_empty(cls, train: Interactions) -> TrainingMatrix:
        """The matrix of `train` (not modified), with no rows or columns when it is empty."""
        users = IdIndex.of(train.users)
        items = IdIndex.of(train.items)
        seen = interaction_matrix(
            users.positions(train.users, "user", "in training"),
            items.positions(train.items, "item", "in training"),
            (len(users), len(items)),
        )
        return cls(users=users, items=items, seen=seen)


def recommend_by_scores(
    matrix: TrainingMatrix,
    score_rows: RowScorer,
    users: NDArray[np.int64],
    k: int,
    remove_seen: bool,
    model: str,
) -> TopK:
    """The top k training items of each of `users` by `score_rows`, best first.

    Every user must be in training (UnknownIdsError otherwise, naming `model`):
    these models have no representation of anyone else. With `remove_seen`,
    a user's training items never appear. Ties go to the lower item id.
    """
    check_request(users, k)
    rows = matrix.users.positions(users, "user", f"not in {model}'s training data")
    items = np.full((users.shape[0], k), PAD, dtype=np.int64)
    scores = np.full((users.shape[0], k), -np.inf, dtype=np.float32)
    block = max(1, _BLOCK_CELLS // max(len(matrix.items), 1))
    for start in range(0, users.shape[0], block):
        part = slice(start, start + block)
        raw = np.array(score_rows(rows[part]), dtype=np.float64)
        if remove_seen:
            seen_rows, seen_cols = matrix.seen[rows[part]].nonzero()
            raw[seen_rows, seen_cols] = -np.inf
        lists = top_k_lists(users[part], matrix.items.ids, raw, k)
        items[part] = lists.items
        scores[part] = lists.scores
    return TopK(users=users.astype(np.int64), items=items, scores=scores)
