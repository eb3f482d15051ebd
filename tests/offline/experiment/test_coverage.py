"""Catalogue coverage with paired bootstrap intervals."""

from __future__ import annotations

import numpy as np

from offline.experiment.coverage import coverage_intervals
from offline.topk import TopK


def _lists(items: list[list[int]]) -> TopK:
    array = np.array(items, dtype=np.int64)
    scores = np.tile(np.arange(array.shape[1], 0, -1, dtype=np.float32), (array.shape[0], 1))
    return TopK(users=np.arange(array.shape[0], dtype=np.int64), items=array, scores=scores)


def test_estimates_lie_in_their_intervals_and_repeat_for_a_seed() -> None:
    """Point values are the coverage of all lists, inside their (median-centred) intervals;
    the same seed gives the same intervals."""
    rng = np.random.default_rng(0)
    ours = _lists([rng.choice(100, size=5, replace=False).tolist() for _ in range(40)])
    theirs = _lists([[1, 2, 3, 4, 5]] * 40)
    catalogue = np.arange(100, dtype=np.int64)
    first = coverage_intervals(ours, theirs, catalogue, 5, seed=3, resamples=300, confidence=0.9)
    mine, other, delta = first
    assert other.value == other.low == other.high == 0.05
    assert mine.low <= mine.value <= mine.high
    assert delta.ci_low <= delta.delta <= delta.ci_high
    assert delta.delta == mine.value - 0.05
    again = coverage_intervals(ours, theirs, catalogue, 5, seed=3, resamples=300, confidence=0.9)
    assert again == first


def test_identical_arms_have_a_zero_delta() -> None:
    """Paired resamples: the same lists on both sides give a zero-width zero delta."""
    lists = _lists([[1, 2], [3, 4], [5, 6]])
    _, _, delta = coverage_intervals(
        lists, lists, np.arange(10, dtype=np.int64), 2, seed=1, resamples=100, confidence=0.95
    )
    assert delta.delta == delta.ci_low == delta.ci_high == 0.0
