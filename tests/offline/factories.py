"""Small hand-made inputs for the offline tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from offline.topk import PAD, TopK
from recmesh.data.dataset import Interactions, ItemCatalog


def interactions(rows: Sequence[tuple[int, int, float, int]]) -> Interactions:
    """Interactions from (user, item, rating, timestamp) rows, in the given order."""
    table = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return Interactions(
        users=table[:, 0].astype(np.int64),
        items=table[:, 1].astype(np.int64),
        ratings=table[:, 2].astype(np.float32),
        timestamps=table[:, 3].astype(np.int64),
    )


def pairs(rows: Sequence[tuple[int, int]]) -> Interactions:
    """Interactions from (user, item) rows with rating 1 and timestamp = row number."""
    return interactions([(u, i, 1.0, t) for t, (u, i) in enumerate(rows)])


def topk(lists: Mapping[int, Sequence[int]], k: int) -> TopK:
    """A TopK of the given lists (best first), padded to k; scores k, k-1, ... per row."""
    users = np.array(sorted(lists), dtype=np.int64)
    items = np.full((users.shape[0], k), PAD, dtype=np.int64)
    scores = np.full((users.shape[0], k), -np.inf, dtype=np.float32)
    for row, user in enumerate(users.tolist()):
        ranked = list(lists[user])
        items[row, : len(ranked)] = ranked
        scores[row, : len(ranked)] = np.arange(k, k - len(ranked), -1)
    return TopK(users=users, items=items, scores=scores)


def catalog(genres: Mapping[int, Sequence[float]]) -> ItemCatalog:
    """An ItemCatalog of the given items and genre vectors (all of one width)."""
    ids = np.array(sorted(genres), dtype=np.int64)
    matrix = np.array([genres[i] for i in ids.tolist()], dtype=np.float32)
    width = matrix.shape[1] if matrix.ndim == 2 else 0
    return ItemCatalog(
        item_ids=ids,
        titles=tuple("" for _ in ids.tolist()),
        genre_names=tuple(f"g{j}" for j in range(width)),
        genres=matrix.reshape(ids.shape[0], width),
        years=np.zeros(ids.shape[0], dtype=np.int32),
    )


def rows_of(interactions: Interactions) -> set[tuple[int, int, int]]:
    """The (user, item, timestamp) of every row."""
    return set(
        zip(
            interactions.users.tolist(),
            interactions.items.tolist(),
            interactions.timestamps.tolist(),
            strict=True,
        )
    )
