"""Candidate-source features: which source found each candidate, its score and position."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recmesh.core.features.hydrators.base import FeatureBatch

NAME = "source"

# The candidate pipeline's sources, in its order; each gets a one-hot column.
DEFAULT_SOURCE_NAMES = ("item_cooccurrence", "genre_affinity", "popularity")


class SourceFeatures:
    """Per candidate: one-hot `source_is_<name>` of the finding source (all 0 for a source
    not in `source_names`), `source_score` (raw), `source_score_share` (score / the
    largest score of the same source in this list, in [0, 1]: negative scores count as
    0, and all shares are 0 when that largest score is not positive),
    `source_position` (0-based in the merged list), `source_position_fraction`
    (position / list length) and `source_rank` (0-based among the same source's
    candidates)."""

    name = NAME

    def __init__(self, source_names: tuple[str, ...] = DEFAULT_SOURCE_NAMES) -> None:
        self._source_names = source_names
        self.feature_names = (
            *(f"source_is_{source}" for source in source_names),
            "source_score",
            "source_score_share",
            "source_position",
            "source_position_fraction",
            "source_rank",
        )

    def hydrate(self, batch: FeatureBatch) -> NDArray[np.float32]:
        n, k = len(batch), len(self._source_names)
        out = np.zeros((n, len(self.feature_names)), dtype=np.float32)
        if n == 0:
            return out
        # found_by[s, r]: batch source s found candidate r (sources x candidates, so that
        # the inner loops run over candidates).
        found_by = np.arange(len(batch.sources), dtype=np.uint8)[:, None] == batch.source_indices
        for column, name in enumerate(self._source_names):
            if name in batch.sources:
                out[:, column] = found_by[batch.sources.index(name)]
        scores = batch.source_scores
        out[:, k] = scores
        # Negative scores count as 0, so every share lies in [0, 1] (no overflow).
        positive = np.maximum(scores, np.float32(0))
        divisor = np.zeros(len(batch.sources), dtype=np.float32)
        np.maximum.at(divisor, batch.source_indices, positive)
        divisor[divisor == 0] = np.inf
        out[:, k + 1] = positive / divisor[batch.source_indices]
        positions = np.arange(n, dtype=np.float32)
        out[:, k + 2] = positions
        out[:, k + 3] = positions / np.float32(n)
        ranks = np.cumsum(found_by, axis=1)
        out[:, k + 4] = ranks[batch.source_indices, np.arange(n)] - 1
        return out
