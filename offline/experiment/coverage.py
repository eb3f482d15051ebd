"""Catalogue coverage with bootstrap intervals: the one metric that is not a per-user mean.

Coverage is the share of the catalogue that appears in at least one top-k list. A
resample draws users with replacement (the same draws for both arms, so the delta
is paired) and takes the coverage of the drawn users' lists. A resample holds
fewer distinct users than the sample (about 63 %), so resampled coverage is
biased low; each bootstrap distribution is therefore shifted so that its median
is the point estimate before its percentile interval is taken.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from offline.stats.bootstrap import DeltaEstimate, Interval, estimates_from_samples
from offline.stats.resampling import percentile_interval
from offline.topk import TopK

# Resample x user cells drawn per block: bounds memory whatever the number of users.
_BLOCK_CELLS = 1 << 21


def coverage_intervals(
    challenger: TopK,
    champion: TopK,
    catalogue_ids: NDArray[np.int64],
    k: int,
    *,
    seed: int,
    resamples: int,
    confidence: float,
) -> tuple[Interval, Interval, DeltaEstimate]:
    """(challenger, champion, paired delta) of catalogue coverage at k.

    Both lists must be over the same users in the same order (ValueError otherwise).
    Deterministic for a seed.
    """
    if not np.array_equal(challenger.users, champion.users) or len(champion) == 0:
        raise ValueError("coverage needs both arms' lists over the same, non-empty users")
    ours = _incidence(challenger, catalogue_ids, k)
    theirs = _incidence(champion, catalogue_ids, k)
    n_users, n_items = ours.shape
    rng = np.random.default_rng(seed)
    samples = np.empty((resamples, 2), dtype=np.float64)
    block = max(1, _BLOCK_CELLS // n_users)
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        drawn = rng.integers(0, n_users, size=(size, n_users))
        offsets = (np.arange(size) * n_users)[:, None]
        counts = np.bincount((drawn + offsets).ravel(), minlength=size * n_users)
        weights = counts.reshape(size, n_users).astype(np.float32)
        samples[start : start + size, 0] = ((weights @ ours) > 0).sum(axis=1) / n_items
        samples[start : start + size, 1] = ((weights @ theirs) > 0).sum(axis=1) / n_items
    value_ours = float((ours.sum(axis=0) > 0).sum() / n_items)
    value_theirs = float((theirs.sum(axis=0) > 0).sum() / n_items)
    delta = value_ours - value_theirs
    low, high = percentile_interval(_centred(samples, [value_ours, value_theirs]), confidence)
    (estimate,) = estimates_from_samples(
        np.array([value_ours]),
        np.array([value_theirs]),
        _centred(samples[:, :1] - samples[:, 1:], [delta]),
        confidence,
    )
    return (
        Interval(value_ours, float(low[0]), float(high[0]), confidence),
        Interval(value_theirs, float(low[1]), float(high[1]), confidence),
        estimate,
    )


def _centred(samples: NDArray[np.float64], values: list[float]) -> NDArray[np.float64]:
    """Each column shifted so that its median is the corresponding point estimate."""
    shifted: NDArray[np.float64] = samples - np.median(samples, axis=0) + np.asarray(values)
    return shifted


def _incidence(topk: TopK, catalogue_ids: NDArray[np.int64], k: int) -> NDArray[np.float32]:
    """users x catalogue items, 1 where the item is in the user's first k slots."""
    matrix = np.zeros((len(topk), catalogue_ids.shape[0]), dtype=np.float32)
    valid = topk.valid(k)
    rows = np.nonzero(valid)[0]
    columns = np.searchsorted(catalogue_ids, topk.items[:, :k][valid])
    matrix[rows, columns] = 1.0
    return matrix
