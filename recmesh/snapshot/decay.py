"""Exponential time decay: a weight halves every half-life."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recmesh.snapshot.snapshot import SECONDS_PER_DAY


def decay_factors(
    timestamps: NDArray[np.int64], reference: NDArray[np.int64] | int, half_life_days: float
) -> NDArray[np.float64]:
    """`2 ** (-(reference - t) / half_life)` per timestamp, in float64.

    Timestamps after the reference count as age 0 (factor 1), so no factor exceeds 1.
    """
    age_seconds = np.maximum(np.asarray(reference, dtype=np.int64) - timestamps, 0)
    half_lives = age_seconds.astype(np.float64) / (half_life_days * SECONDS_PER_DAY)
    factors: NDArray[np.float64] = np.exp2(-half_lives)
    return factors
