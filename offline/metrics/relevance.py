"""Which recommended items are in the test set: the input of every accuracy metric.

Relevance is binary and follows Microsoft Recommenders' `relevancy_method="top_k"`:
every (user, item) pair of the test set is relevant whatever its rating, and
the users evaluated are those with both a list and at least one test row
(`merge_ranking_true_pred`'s "common users").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.topk import PAD, TopK
from recmesh.data.dataset import Interactions


@dataclass(frozen=True)
class Relevance:
    """Hits of the first k slots of each evaluated user's list.

    `users` (int64, n) are the users with both a list and a test row, sorted.
    `hits` (bool, n x k) is true where the item in that slot is one of the
    user's test items (never in an empty slot; columns beyond the list's width
    are empty slots). `n_relevant` (int64, n) counts the user's distinct test
    items, so it is at least 1. `k` is the cutoff.
    """

    users: NDArray[np.int64]
    hits: NDArray[np.bool_]
    n_relevant: NDArray[np.int64]

    @property
    def k(self) -> int:
        return int(self.hits.shape[1])


def relevance(topk: TopK, test: Interactions, k: int) -> Relevance:
    """The hits of `topk`'s first k slots against `test`, for the users in both.

    A test pair that appears on several rows counts once (Microsoft counts
    rows; the two agree on data without repeated pairs, such as MovieLens).
    Raises ValueError for k < 1.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    test_users = np.unique(test.users)
    users = np.intersect1d(topk.users, test_users)
    if users.shape[0] == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Relevance(users=empty, hits=np.zeros((0, k), dtype=np.bool_), n_relevant=empty)

    # Each (user, item) pair becomes one int64 key: user code * vocabulary size + item code.
    vocab = np.unique(test.items)
    test_keys = np.unique(
        np.searchsorted(test_users, test.users) * vocab.shape[0]
        + np.searchsorted(vocab, test.items)
    )
    n_relevant = np.bincount(test_keys // vocab.shape[0], minlength=test_users.shape[0])

    width = min(k, topk.k)
    items = np.full((users.shape[0], k), PAD, dtype=np.int64)
    items[:, :width] = topk.restrict(users).items[:, :width]
    code = np.minimum(np.searchsorted(vocab, items), vocab.shape[0] - 1)
    in_vocab = (items != PAD) & (vocab[code] == items)
    user_code = np.searchsorted(test_users, users)
    keys = user_code[:, None] * vocab.shape[0] + code
    found = np.minimum(np.searchsorted(test_keys, keys), test_keys.shape[0] - 1)
    return Relevance(
        users=users,
        hits=in_vocab & (test_keys[found] == keys),
        n_relevant=n_relevant[user_code].astype(np.int64),
    )


def missing_users(topk: TopK, test: Interactions) -> NDArray[np.int64]:
    """Test users without a list in `topk`, sorted: they are left out of every mean."""
    missing: NDArray[np.int64] = np.setdiff1d(np.unique(test.users), topk.users)
    return missing

