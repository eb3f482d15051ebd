"""Bootstrap resampling of users, vectorised: one count matrix per block of resamples."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# Index cells drawn per block (8 bytes each): bounds memory whatever the number of users.
_BLOCK_CELLS = 1 << 22


def bootstrap_means(values: NDArray[np.float64], resamples: int, seed: int) -> NDArray[np.float64]:
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


def improvement_p_values(
    samples: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(p_increase, p_decrease) of each column of bootstrap `samples` of a delta.

    p_increase is twice the share of the samples at or below zero, read off the same
    linear interpolation as `percentile_interval`, capped at 1: the 1 - confidence at
    which the interval's low end is exactly zero. So the interval at confidence c lies
    wholly above zero exactly when p_increase < 1 - c; p_decrease is the same for
    wholly below zero. 0 when every sample is on the side tested.
    """
    ordered = np.sort(samples, axis=0)
    p_increase = _share_at_or_below_zero(ordered)
    p_decrease = _share_at_or_below_zero(-ordered[::-1])
    return np.minimum(1.0, 2.0 * p_increase), np.minimum(1.0, 2.0 * p_decrease)


def _share_at_or_below_zero(ordered: NDArray[np.float64]) -> NDArray[np.float64]:
    """For each ascending column, the largest q whose linear-interpolation quantile is
    <= 0 (0 when even the smallest sample is above zero)."""
    n = ordered.shape[0]
    shares = np.zeros(ordered.shape[1], dtype=np.float64)
    if n == 1:
        return np.where(ordered[0] <= 0.0, 1.0, 0.0)
    at_or_below = (ordered <= 0.0).sum(axis=0)
    for column, k in enumerate(at_or_below.tolist()):
        if k == 0:
            continue
        if k == n:
            shares[column] = 1.0
            continue
        # Between sample k - 1 (<= 0) and sample k (> 0), the quantile crosses zero at
        # this fraction of the step: the virtual index (n - 1) q where it is exactly 0.
        low, high = ordered[k - 1, column], ordered[k, column]
        shares[column] = (k - 1 + (-low) / (high - low)) / (n - 1)
    return shares


def check_confidence(confidence: float) -> None:
    """Raises ValueError unless 0 < confidence < 1."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
