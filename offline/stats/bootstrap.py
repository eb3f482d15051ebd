"""Bootstrap intervals over users: one arm's mean, and the paired difference of two arms."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.stats.resampling import bootstrap_means, improvement_p_values, percentile_interval

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A metric's mean over users and its percentile bootstrap interval at `confidence`."""

    value: float
    low: float
    high: float
    confidence: float


@dataclass(frozen=True)
class DeltaEstimate:
    """Challenger minus champion on one metric, with its paired bootstrap interval.

    `champion` and `challenger` are the two means over the same users;
    `delta` = challenger - champion; [ci_low, ci_high] is the percentile
    interval of the delta at `confidence`, from resampling users;
    `relative` = delta / |champion|, nan when the champion's mean is 0;
    `resamples` is how many bootstrap resamples the interval comes from (0 for a
    measured value without an interval). `p_increase` and `p_decrease` are the
    paired-bootstrap p-values of the delta being above and below zero
    (`resampling.improvement_p_values`; None without resamples). A
    `recmesh.decision.MetricEvidence`.
    """

    delta: float
    ci_low: float
    ci_high: float
    relative: float
    champion: float
    challenger: float
    confidence: float
    resamples: int
    p_increase: float | None = None
    p_decrease: float | None = None


def bootstrap_interval(
    values: NDArray[np.float64],
    *,
    seed: int,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval:
    """The mean of per-user `values` and its interval from resampling the users.

    Raises ValueError for an empty, non-1-D or non-finite array. Deterministic
    for a seed.
    """
    column = check_per_user(values, "values")[:, None]
    low, high = percentile_interval(bootstrap_means(column, resamples, seed), confidence)
    return Interval(
        value=float(column.mean()), low=float(low[0]), high=float(high[0]), confidence=confidence
    )


def paired_bootstrap(
    challenger: NDArray[np.float64],
    champion: NDArray[np.float64],
    *,
    seed: int,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
) -> DeltaEstimate:
    """The challenger-minus-champion delta of per-user values aligned on the same users.

    Each resample draws users with replacement and takes both arms' values of
    the same drawn users, so per-user variation common to both arms cancels.
    Raises ValueError for arrays of different shapes, empty, or non-finite.
    Deterministic for a seed.
    """
    ours = check_per_user(challenger, "challenger")
    theirs = check_per_user(champion, "champion")
    if ours.shape != theirs.shape:
        raise ValueError(
            f"challenger and champion must be aligned on the same users, "
            f"got {ours.shape[0]} and {theirs.shape[0]} values"
        )
    return delta_estimates(ours[:, None], theirs[:, None], seed, resamples, confidence)[0]


def delta_estimates(
    challenger: NDArray[np.float64],
    champion: NDArray[np.float64],
    seed: int,
    resamples: int,
    confidence: float,
) -> list[DeltaEstimate]:
    """One DeltaEstimate per column of two checked (n x m) per-user matrices, same resamples."""
    columns = range(challenger.shape[1])
    return estimates_from_samples(
        np.array([challenger[:, column].mean() for column in columns]),
        np.array([champion[:, column].mean() for column in columns]),
        bootstrap_means(challenger - champion, resamples, seed),
        confidence,
    )


def estimates_from_samples(
    challenger: NDArray[np.float64],
    champion: NDArray[np.float64],
    samples: NDArray[np.float64],
    confidence: float,
) -> list[DeltaEstimate]:
    """One DeltaEstimate per metric from both arms' point values (length m) and the
    bootstrap distribution of their delta (resamples x m): its percentile interval and
    its p-values of an increase and a decrease, read off the same samples."""
    low, high = percentile_interval(samples, confidence)
    p_increase, p_decrease = improvement_p_values(samples)
    estimates = []
    for column in range(samples.shape[1]):
        ours = float(challenger[column])
        theirs = float(champion[column])
        delta = ours - theirs
        estimates.append(
            DeltaEstimate(
                delta=delta,
                ci_low=float(low[column]),
                ci_high=float(high[column]),
                relative=delta / abs(theirs) if theirs != 0.0 else math.nan,
                champion=theirs,
                challenger=ours,
                confidence=confidence,
                resamples=samples.shape[0],
                p_increase=float(p_increase[column]),
                p_decrease=float(p_decrease[column]),
            )
        )
    return estimates


def check_per_user(values: NDArray[np.float64], name: str) -> NDArray[np.float64]:
    """`values` as float64 after checking it is a non-empty, finite 1-D array (ValueError)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds non-finite values")
    return array
