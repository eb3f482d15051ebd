"""User segments by training history size, and metrics per segment."""

from __future__ import annotations

import math

import numpy as np
import pytest

from offline.metrics.per_user import PerUserMetrics
from offline.metrics.segments import (
    SegmentThresholds,
    metrics_by_segment,
    segment_users,
    training_sizes,
)
from offline.splits.stratified import stratified_split
from recmesh.data.dataset import Dataset
from tests.offline.factories import pairs

_TRAIN = pairs([(1, i) for i in range(3)] + [(2, i) for i in range(5)] + [(3, i) for i in range(9)])


def test_training_sizes_count_rows_and_unknown_users_have_none() -> None:
    """Users 1, 2, 3 have 3, 5, 9 training rows; user 4 has none."""
    sizes = training_sizes(_TRAIN, np.array([3, 4, 1, 2], dtype=np.int64))
    assert sizes.tolist() == [9, 0, 3, 5]


def test_labels_follow_the_thresholds_inclusive_for_light() -> None:
    """cold < cold_below <= light <= heavy_above < heavy; a user not in training is cold."""
    thresholds = SegmentThresholds(cold_below=5, heavy_above=8)
    labels = segment_users(_TRAIN, np.array([1, 2, 3, 4], dtype=np.int64), thresholds)
    assert labels.tolist() == ["cold", "light", "heavy", "cold"]


def test_thresholds_must_be_ordered() -> None:
    """A cold threshold above heavy_above + 1 would leave users in two segments."""
    with pytest.raises(ValueError, match="cold_below"):
        SegmentThresholds(cold_below=10, heavy_above=5)


def test_metrics_by_segment_gives_counts_and_means_per_segment() -> None:
    """Each segment reports its users and means; an empty segment has nan means."""
    per_user = PerUserMetrics(
        users=np.array([1, 2, 3], dtype=np.int64),
        values={"m": np.array([1.0, 0.0, 0.5])},
    )
    labels = np.array(["cold", "cold", "light"]).astype(np.str_)
    summary = metrics_by_segment(per_user, labels)
    assert summary["cold"].n_users == 2
    assert summary["cold"].means["m"] == 0.5
    assert summary["light"].means["m"] == 0.5
    assert summary["heavy"].n_users == 0
    assert math.isnan(summary["heavy"].means["m"])
    with pytest.raises(ValueError, match="do not match"):
        metrics_by_segment(per_user, labels[:2])


def test_default_segments_are_all_populated_on_ml100k(ml100k: Dataset) -> None:
    """User-stratified 0.75 split of ml-100k: 137 cold, 537 light, 269 heavy users."""
    train, test = stratified_split(ml100k.interactions, 0.75, 42, by="user")
    labels = segment_users(train, np.unique(test.users))
    segments, counts = np.unique(labels, return_counts=True)
    assert dict(zip(segments.tolist(), counts.tolist(), strict=True)) == {
        "cold": 137,
        "light": 537,
        "heavy": 269,
    }
