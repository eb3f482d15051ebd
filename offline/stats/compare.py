"""Challenger against champion on every metric of their per-user evaluations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from offline.metrics.per_user import PerUserMetrics, require_metrics, require_same_users
from offline.stats.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DeltaEstimate,
    Interval,
    check_per_user,
    delta_estimates,
)
from offline.stats.resampling import bootstrap_means, percentile_interval


def compare(
    challenger: PerUserMetrics,
    champion: PerUserMetrics,
    metrics: Sequence[str] | None = None,
    *,
    seed: int,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, DeltaEstimate]:
    """A paired-bootstrap DeltaEstimate per metric (all of the champion's by default).

    Every metric uses the same user resamples. Raises MisalignedUsersError
    unless both arms cover the same users, KeyError for a metric either lacks.
    """
    require_same_users(challenger, champion)
    names = tuple(champion.names if metrics is None else metrics)
    require_metrics(challenger, names)
    require_metrics(champion, names)
    estimates = delta_estimates(
        _matrix(challenger, names), _matrix(champion, names), seed, resamples, confidence
    )
    return dict(zip(names, estimates, strict=True))


def arm_intervals(
    per_user: PerUserMetrics,
    metrics: Sequence[str] | None = None,
    *,
    seed: int,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, Interval]:
    """The mean and bootstrap interval of each metric of one arm (all by default)."""
    names = tuple(per_user.names if metrics is None else metrics)
    require_metrics(per_user, names)
    matrix = _matrix(per_user, names)
    low, high = percentile_interval(bootstrap_means(matrix, resamples, seed), confidence)
    return {
        name: Interval(
            value=float(matrix[:, i].mean()),
            low=float(low[i]),
            high=float(high[i]),
            confidence=confidence,
        )
        for i, name in enumerate(names)
    }


def _matrix(per_user: PerUserMetrics, names: Sequence[str]) -> NDArray[np.float64]:
    columns = [check_per_user(per_user.values[name], name) for name in names]
    return np.stack(columns, axis=1) if columns else np.zeros((len(per_user), 0))
