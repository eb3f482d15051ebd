"""User segments by training history size, and metrics per segment.

The default thresholds are counts of training rows: cold < 20 <= light <= 100 <
heavy. MovieLens 100K keeps only users with at least 20 ratings, so with the
0.75 user-stratified split every user has at least 15 training rows and the
three segments hold 137, 537 and 269 of the 943 users: "cold" there means the
users whose training history fell below MovieLens' own floor of 20, "heavy"
those with more than 100 (about the top 30%). A user absent from training is
cold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.metrics.per_user import PerUserMetrics
from recmesh.data.dataset import Interactions

COLD = "cold"
LIGHT = "light"
HEAVY = "heavy"
SEGMENTS = (COLD, LIGHT, HEAVY)


@dataclass(frozen=True)
class SegmentThresholds:
    """cold: fewer than `cold_below` training rows; heavy: more than `heavy_above`.

    Requires 0 <= cold_below <= heavy_above + 1 (ValueError otherwise); the
    light segment is cold_below..heavy_above inclusive.
    """

    cold_below: int = 20
    heavy_above: int = 100

    def __post_init__(self) -> None:
        if not 0 <= self.cold_below <= self.heavy_above + 1:
            raise ValueError(
                f"need 0 <= cold_below <= heavy_above + 1, got {self.cold_below}, "
                f"{self.heavy_above}"
            )


@dataclass(frozen=True)
class SegmentSummary:
    """The users of one segment and the mean of every metric over them (nan if empty)."""

    segment: str
    n_users: int
    means: Mapping[str, float]


def training_sizes(train: Interactions, users: NDArray[np.int64]) -> NDArray[np.int64]:
    """The number of training rows of each of `users` (0 for a user not in training)."""
    ids, counts = np.unique(train.users, return_counts=True)
    if ids.shape[0] == 0:
        return np.zeros(users.shape, dtype=np.int64)
    code = np.minimum(np.searchsorted(ids, users), ids.shape[0] - 1)
    sizes: NDArray[np.int64] = np.where(ids[code] == users, counts[code], 0).astype(np.int64)
    return sizes


def segment_users(
    train: Interactions,
    users: NDArray[np.int64],
    thresholds: SegmentThresholds = SegmentThresholds(),
) -> NDArray[np.str_]:
    """The segment label ("cold", "light" or "heavy") of each of `users`, aligned."""
    sizes = training_sizes(train, users)
    labels: NDArray[np.str_] = np.where(
        sizes < thresholds.cold_below,
        COLD,
        np.where(sizes > thresholds.heavy_above, HEAVY, LIGHT),
    ).astype(np.str_)
    return labels


def metrics_by_segment(
    per_user: PerUserMetrics, labels: NDArray[np.str_]
) -> dict[str, SegmentSummary]:
    """For each of "cold", "light", "heavy", its user count and metric means.

    `labels` must be aligned to `per_user.users` (ValueError otherwise).
    """
    if labels.shape != per_user.users.shape:
        raise ValueError(f"labels of shape {labels.shape} do not match {len(per_user)} users")
    summaries: dict[str, SegmentSummary] = {}
    for segment in SEGMENTS:
        part = per_user.select(labels == segment)
        summaries[segment] = SegmentSummary(segment=segment, n_users=len(part), means=part.means())
    return summaries
