"""Best-first selection from a dense score vector, with a deterministic tie order."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recmesh.core.candidates.sources.base import SourceResult


def top_positive(scores: NDArray[np.float32], n: int) -> SourceResult:
    """The n best items of a dense, finite, per-item score vector, among those scoring
    above 0: higher score first, then lower item index.

    One partition of the whole vector finds the n-th best score, so only the items
    scoring at least that much (n plus ties) are sorted.
    """
    m = scores.shape[0]
    if m > n:
        # Partitioning the negated scores at n - 1 is much faster than partitioning the
        # scores at m - n when most of them are 0 (as in co-occurrence scores).
        threshold = -np.partition(-scores, n - 1)[n - 1]
        found = np.flatnonzero(scores >= threshold if threshold > 0 else scores > 0)
    else:
        found = np.flatnonzero(scores > 0)
    found_scores = scores[found]
    # Found indices increase, so a stable sort keeps lower indices first among ties.
    order = np.argsort(-found_scores, kind="stable")[:n]
    return SourceResult(item_indices=found[order], scores=found_scores[order])
