"""What each user consumed after a moment, from an interactions table."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recmesh.data.dataset import Interactions


class ConsumedAfter:
    """The items of `interactions` by user and time, for asking what a user consumed after
    a request. Impressions carry the user id as a string; a user id that is not a decimal
    integer has no interactions here."""

    def __init__(self, interactions: Interactions) -> None:
        order = np.lexsort((interactions.timestamps, interactions.users))
        users = interactions.users[order]
        boundaries = np.r_[True, users[1:] != users[:-1]] if len(users) else np.zeros(0, bool)
        starts = [int(start) for start in np.flatnonzero(boundaries)]
        ends = [*starts[1:], len(users)] if starts else []
        times = interactions.timestamps[order]
        items = interactions.items[order]
        self._by_user: dict[int, tuple[NDArray[np.int64], NDArray[np.int64]]] = {
            int(users[start]): (times[start:end], items[start:end])
            for start, end in zip(starts, ends, strict=True)
        }

    def items(self, user_id: str, after: float, horizon_s: float | None = None) -> frozenset[int]:
        """The items `user_id` interacted with at a time t, after < t <= after + horizon_s
        (any later time when `horizon_s` is None); empty when there are none."""
        try:
            user = int(user_id)
        except ValueError:
            return frozenset()
        times, items = self._by_user.get(user, (np.empty(0, np.int64), np.empty(0, np.int64)))
        first = int(np.searchsorted(times, after, side="right"))
        last = (
            len(times)
            if horizon_s is None
            else int(np.searchsorted(times, after + horizon_s, side="right"))
        )
        return frozenset(int(item) for item in items[first:last])
