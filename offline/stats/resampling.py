"""Bootstrap resampling of users, vectorised: one count matrix per block of resamples."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# Index cells drawn per block (8 bytes each): bounds memory whatever the number of users.
_BLOCK_CELLS = 1 << 22


def bootstrap_means(
    values: NDArray[np.float64], resamples: int, seed: int
) -> NDArray[np.float64]:
    """Column means of `values` (n x m) under `resamples` resamples of its n rows.

    Resample b draws n row indices uniformly with replacement from
    `np.random.default_rng(seed)`, in order, and every column is averaged over
    the same rows: resampling users once for all metrics and both arms is what
    makes a difference of columns a paired bootstrap. Returns (resamples x m).
    Deterministic for a seed. Raises ValueError for no rows or resamples < 1.
    """
    n = values.shape[0]
    if n == 0:
        raise ValueError("cannot resample an empty set of users")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    rng = np.random.default_rng(seed)
    means = np.empty((resamples, values.shape[1]), dtype=np.float64)
    block = max(1, _BLOCK_CELLS // n)
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        drawn = rng.integers(0, n, size=(size, n))
        # How often each user is drawn in each resample; the mean is then one matmul.
        offsets = (np.arange(size) * n)[:, None]
        counts = np.bincount((drawn + offsets).ravel(), minlength=size * n).reshape(size, n)
        means[start : start + size] = counts.astype(np.float64) @ values / n
    return means


def percentile_interval(
    samples: NDArray[np.float64], confidence: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The (low, high) percentile interval of each column of `samples` at `confidence`.

    Low and high are the (1 - confidence) / 2 and (1 + confidence) / 2
    quantiles (numpy's default linear interpolation). Raises ValueError unless
    0 < confidence < 1.
    """
    check_confidence(confidence)
    low, high = np.quantile(samples, [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0], axis=0)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def check_confidence(confidence: float) -> None:
    """Raises ValueError unless 0 < confidence < 1."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
