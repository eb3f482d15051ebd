"""What a refreshed snapshot kept of the previous one: the sanity checks of a refresh.

A refresh may only add: every (user, item) the previous snapshot's history holds,
every user and every catalogue item must still be there. `compare_snapshots`
counts what was lost, so that the control plane can refuse a refresh that
dropped anything and say how much.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recmesh.snapshot.snapshot import Snapshot


@dataclass(frozen=True)
class SnapshotComparison:
    previous_interactions: int
    refreshed_interactions: int
    previous_users: int
    refreshed_users: int
    previous_items: int
    refreshed_items: int
    #: (user, item) pairs of the previous history missing from the refreshed one.
    lost_interactions: int
    vanished_users: int
    vanished_items: int

    @property
    def lost_anything(self) -> bool:
        return bool(self.lost_interactions or self.vanished_users or self.vanished_items)


def compare_snapshots(previous: Snapshot, refreshed: Snapshot) -> SnapshotComparison:
    """Counts of both snapshots and of what the refreshed one lost of the previous."""
    old_users, old_items = _history_pairs(previous)
    new_users, new_items = _history_pairs(refreshed)
    user_space = np.union1d(previous.user_ids, refreshed.user_ids)
    item_space = np.union1d(previous.item_ids, refreshed.item_ids)
    width = np.int64(item_space.shape[0])

    def keys(users: NDArray[np.int64], items: NDArray[np.int64]) -> NDArray[np.int64]:
        return np.searchsorted(user_space, users) * width + np.searchsorted(item_space, items)

    kept = np.isin(keys(old_users, old_items), keys(new_users, new_items))
    return SnapshotComparison(
        previous_interactions=int(old_users.shape[0]),
        refreshed_interactions=int(new_users.shape[0]),
        previous_users=previous.n_users,
        refreshed_users=refreshed.n_users,
        previous_items=previous.n_items,
        refreshed_items=refreshed.n_items,
        lost_interactions=int(np.count_nonzero(~kept)),
        vanished_users=int(np.count_nonzero(~np.isin(previous.user_ids, refreshed.user_ids))),
        vanished_items=int(np.count_nonzero(~np.isin(previous.item_ids, refreshed.item_ids))),
    )


def _history_pairs(snapshot: Snapshot) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(user id, item id) of every history entry."""
    counts = np.diff(snapshot.history_indptr)
    users = np.repeat(snapshot.user_ids, counts).astype(np.int64)
    items = snapshot.item_ids[snapshot.history_items].astype(np.int64)
    return users, items
