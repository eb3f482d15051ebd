"""One user's history and its item neighbourhood: what candidates and features share.

Both the candidate sources and the feature hydrators score items against a user's
history through these functions, so serving and the offline trainer compute them the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recmesh.snapshot.snapshot import Snapshot

_EMPTY_I64 = np.zeros(0, dtype=np.int64)
_EMPTY_F32 = np.zeros(0, dtype=np.float32)


@dataclass(frozen=True)
class UserHistory:
    """A user's distinct training items (increasing item index) with their affinity,
    latest rating and latest timestamp. Empty for unknown users. Views into the snapshot."""

    item_indices: NDArray[np.int64]
    weights: NDArray[np.float32]
    ratings: NDArray[np.float32]
    timestamps: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.item_indices.shape[0])


EMPTY_HISTORY = UserHistory(_EMPTY_I64, _EMPTY_F32, _EMPTY_F32, _EMPTY_I64)


def user_history(snapshot: Snapshot, user_index: int | None) -> UserHistory:
    """The history of the user at `user_index`; EMPTY_HISTORY for None."""
    if user_index is None:
        return EMPTY_HISTORY
    start = int(snapshot.history_indptr[user_index])
    stop = int(snapshot.history_indptr[user_index + 1])
    return UserHistory(
        item_indices=snapshot.history_items[start:stop],
        weights=snapshot.history_weights[start:stop],
        ratings=snapshot.history_ratings[start:stop],
        timestamps=snapshot.history_timestamps[start:stop],
    )


def seen_mask(snapshot: Snapshot, history: UserHistory) -> NDArray[np.bool_]:
    """True at the index of every item in the history (one entry per catalogue item)."""
    seen = np.zeros(snapshot.n_items, dtype=np.bool_)
    seen[history.item_indices] = True
    return seen


@dataclass(frozen=True)
class NeighbourEdges:
    """Every (history item h -> neighbour j) similarity edge of one user, flattened:
    `items[e]` is j, `similarities[e]` is sim(h, j) and `affinities[e]` is the user's
    affinity for h. Items are not deduplicated: j appears once per history item listing it."""

    items: NDArray[np.int64]
    similarities: NDArray[np.float32]
    affinities: NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.items.shape[0])


def row_entries(
    indptr: NDArray[np.int64], rows: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The positions of every entry of the CSR rows `rows` (in row order), and each row's
    number of entries, gathered without a Python loop."""
    starts = indptr[rows]
    lengths = indptr[1:][rows] - starts
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if ends.shape[0] else 0
    # Entry e of row r sits at starts[r] + (e - first entry of r)
    # = e + (starts - ends + lengths)[r].
    positions = np.repeat(starts - ends + lengths, lengths)
    positions += np.arange(total, dtype=np.int64)
    return positions, lengths


def neighbour_edges(snapshot: Snapshot, history: UserHistory) -> NeighbourEdges:
    """The similarity rows of the history's items, gathered without a Python loop."""
    positions, lengths = row_entries(snapshot.similarity_indptr, history.item_indices)
    if positions.shape[0] == 0:
        return NeighbourEdges(_EMPTY_I64, _EMPTY_F32, _EMPTY_F32)
    return NeighbourEdges(
        items=snapshot.similarity_indices[positions],
        similarities=snapshot.similarity_values[positions],
        affinities=np.repeat(history.weights, lengths),
    )


def sar_scores(snapshot: Snapshot, edges: NeighbourEdges) -> NDArray[np.float32]:
    """SAR score of every catalogue item: sum over history h of affinity(h) * sim(h, j).

    Dense over the catalogue; 0 for items no history item lists as a neighbour.
    """
    scores = np.bincount(
        edges.items, weights=edges.similarities * edges.affinities, minlength=snapshot.n_items
    )
    return scores.astype(np.float32)
