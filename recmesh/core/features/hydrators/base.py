"""The feature hydrator contract: one method, one float32 block per batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from recmesh.snapshot.history import UserHistory


@dataclass(frozen=True)
class FeatureBatch:
    """One user's candidates, checked by the pipeline before any hydrator sees them.

    Invariants: `item_indices`, `source_indices` and `source_scores` have one entry per
    candidate, in the merged list's order; item indices lie in the snapshot's catalogue;
    `source_indices` index into `sources`; scores are finite. `user_index` is None for a
    user the snapshot does not know (then `history` is empty).
    """

    user_index: int | None
    history: UserHistory
    item_indices: NDArray[np.int64]
    source_indices: NDArray[np.uint8]
    source_scores: NDArray[np.float32]
    sources: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.item_indices.shape[0])


class FeatureHydrator(Protocol):
    """Computes a fixed, named group of features.

    `name` is stable (log key, metric label); `feature_names` never change for one
    hydrator instance.
    """

    @property
    def name(self) -> str: ...

    @property
    def feature_names(self) -> tuple[str, ...]: ...

    def hydrate(self, batch: FeatureBatch) -> NDArray[np.float32]:
        """A (len(batch), len(feature_names)) float32 block without NaN or infinity:
        one row per input candidate, in the same order."""
        ...
