"""Top-k recommendation lists: what a recommender returns and every metric consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.errors import UnknownIdsError

PAD = -1
"""The item id of an empty slot at the end of a list shorter than k."""


@dataclass(frozen=True)
class TopK:
    """One ranked list of at most k items per user.

    `users` (int64, n) holds distinct user ids. Row r of `items` (int64, n x k)
    is the list for `users[r]`, best first: distinct item ids, then `PAD` (-1)
    in the empty slots, which only ever come after every real item. `scores`
    (float32, n x k) holds each item's score, non-increasing along the row over
    the real items, and -inf in the empty slots. k >= 1. The constructor checks
    all of this and raises ValueError on any violation.
    """

    users: NDArray[np.int64]
    items: NDArray[np.int64]
    scores: NDArray[np.float32]

    def __post_init__(self) -> None:
        _check_arrays(self.users, self.items, self.scores)

    def __len__(self) -> int:
        return int(self.users.shape[0])

    @property
    def k(self) -> int:
        return int(self.items.shape[1])

    def valid(self, k: int | None = None) -> NDArray[np.bool_]:
        """True in the real (non-padded) slots of the first `k` columns (all by default)."""
        valid: NDArray[np.bool_] = self.items[:, : self.k if k is None else k] != PAD
        return valid

    def restrict(self, users: NDArray[np.int64]) -> TopK:
        """The lists of `users` (distinct), in that order.

        Raises UnknownIdsError for a user without a list.
        """
        if len(self) == 0:
            if users.shape[0]:
                raise UnknownIdsError("user", users, "without a recommendation list")
            return self
        order = np.argsort(self.users, kind="stable")
        rows = order[np.minimum(np.searchsorted(self.users[order], users), len(self) - 1)]
        absent = self.users[rows] != users
        if absent.any():
            raise UnknownIdsError("user", users[absent], "without a recommendation list")
        return TopK(users=self.users[rows], items=self.items[rows], scores=self.scores[rows])

    def lengths(self) -> NDArray[np.int64]:
        """The number of real items in each list."""
        lengths: NDArray[np.int64] = self.valid().sum(axis=1).astype(np.int64)
        return lengths


def _check_arrays(
    users: NDArray[np.int64], items: NDArray[np.int64], scores: NDArray[np.float32]
) -> None:
    if users.dtype != np.int64 or items.dtype != np.int64 or scores.dtype != np.float32:
        raise ValueError(
            f"TopK wants int64 users and items and float32 scores, got "
            f"{users.dtype}, {items.dtype}, {scores.dtype}"
        )
    if users.ndim != 1 or items.ndim != 2 or scores.shape != items.shape:
        raise ValueError(
            f"TopK shapes must be (n,), (n, k), (n, k); got {users.shape}, "
            f"{items.shape}, {scores.shape}"
        )
    if items.shape[0] != users.shape[0] or items.shape[1] < 1:
        raise ValueError(
            f"TopK of {users.shape[0]} users needs items of shape (n, k>=1), got {items.shape}"
        )
    if np.unique(users).shape[0] != users.shape[0]:
        raise ValueError("TopK users must be distinct")
    valid = items != PAD
    if np.any(items[valid] < 0):
        raise ValueError(f"TopK item ids must be >= 0 ({PAD} marks an empty slot)")
    if np.any(valid[:, 1:] & ~valid[:, :-1]):
        raise ValueError("TopK empty slots must come after every real item of a row")
    if np.any(scores[~valid] != -np.inf) or np.any(~np.isfinite(scores[valid])):
        raise ValueError("TopK scores must be finite for real items and -inf in empty slots")
    ordered = scores[:, 1:] <= scores[:, :-1]
    if np.any(~ordered & valid[:, 1:]):
        raise ValueError("TopK scores must not increase along a row")
    # Duplicates: sort each row, equal neighbours that are both real items.
    ranked = np.sort(items, axis=1)
    if np.any((ranked[:, 1:] == ranked[:, :-1]) & (ranked[:, 1:] != PAD)):
        raise ValueError("TopK items must be distinct within a row")
