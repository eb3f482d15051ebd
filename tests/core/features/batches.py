"""Builds FeatureBatches for the hydrator tests (a helper, not a test module)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recmesh.core.features.hydrators.base import FeatureBatch
from recmesh.snapshot.history import user_history
from recmesh.snapshot.snapshot import Snapshot

SOURCES = ("item_cooccurrence", "genre_affinity", "popularity")


def batch_for(
    snapshot: Snapshot,
    user_id: int,
    items: Sequence[int],
    source_indices: Sequence[int] | None = None,
    scores: Sequence[float] | None = None,
    sources: tuple[str, ...] = SOURCES,
) -> FeatureBatch:
    n = len(items)
    user_index = snapshot.user_index(user_id)
    return FeatureBatch(
        user_index=user_index,
        history=user_history(snapshot, user_index),
        item_indices=np.array(items, dtype=np.int64),
        source_indices=np.array(source_indices or [0] * n, dtype=np.uint8),
        source_scores=np.array(scores or [1.0] * n, dtype=np.float32),
        sources=sources,
    )
