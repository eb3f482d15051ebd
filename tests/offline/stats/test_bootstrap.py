"""paired_bootstrap and bootstrap_interval: determinism and interval sanity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from offline.stats.bootstrap import bootstrap_interval, paired_bootstrap


def _arms(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    champion = rng.uniform(0.0, 1.0, size=n)
    challenger = champion + 0.02 + rng.normal(0.0, 0.01, size=n)
    return challenger, champion


def test_paired_bootstrap_is_deterministic_for_a_seed() -> None:
    """Same inputs and seed give the same estimate; another seed moves the interval."""
    challenger, champion = _arms(0)
    first = paired_bootstrap(challenger, champion, seed=11)
    assert first == paired_bootstrap(challenger, champion, seed=11)
    assert first != paired_bootstrap(challenger, champion, seed=12)


def test_delta_relative_and_means_are_the_point_estimates() -> None:
    """delta = mean(challenger) - mean(champion), relative = delta / |champion mean|."""
    challenger = np.array([0.3, 0.5, 0.4])
    champion = np.array([0.2, 0.4, 0.3])
    estimate = paired_bootstrap(challenger, champion, seed=0, resamples=50, confidence=0.9)
    assert estimate.delta == pytest.approx(0.1)
    assert estimate.champion == pytest.approx(0.3)
    assert estimate.challenger == pytest.approx(0.4)
    assert estimate.relative == pytest.approx(1 / 3)
    assert estimate.confidence == 0.9


def test_a_constant_per_user_shift_has_a_degenerate_interval() -> None:
    """If every user gains exactly 0.05, every resample's delta is 0.05."""
    champion = np.linspace(0.0, 1.0, 30)
    estimate = paired_bootstrap(champion + 0.05, champion, seed=1)
    assert estimate.ci_low == pytest.approx(0.05)
    assert estimate.ci_high == pytest.approx(0.05)


def test_identical_arms_have_zero_delta_and_nan_relative_on_a_zero_champion() -> None:
    """Equal arms give delta 0 with interval [0, 0]; a zero champion mean has nan relative."""
    zeros = np.zeros(10)
    estimate = paired_bootstrap(zeros, zeros, seed=0)
    assert (estimate.delta, estimate.ci_low, estimate.ci_high) == (0.0, 0.0, 0.0)
    assert math.isnan(estimate.relative)


def test_pairing_detects_a_small_consistent_gain_that_arm_intervals_cannot() -> None:
    """Correlated arms: the paired CI excludes 0, while the two arms' CIs overlap."""
    challenger, champion = _arms(3)
    estimate = paired_bootstrap(challenger, champion, seed=5)
    assert estimate.ci_low > 0
    assert estimate.ci_low <= estimate.delta <= estimate.ci_high
    ours = bootstrap_interval(challenger, seed=5)
    theirs = bootstrap_interval(champion, seed=5)
    assert ours.low < theirs.high


def test_interval_width_matches_the_normal_approximation() -> None:
    """For 400 unit-variance values, the 95% interval is about 2 * 1.96 / 20 = 0.196 wide."""
    values = np.random.default_rng(8).normal(0.0, 1.0, size=400)
    interval = bootstrap_interval(values, seed=2, resamples=4000)
    assert interval.low < interval.value < interval.high
    assert interval.high - interval.low == pytest.approx(2 * 1.96 * values.std() / 20, rel=0.1)


def test_inputs_must_be_aligned_finite_and_non_empty() -> None:
    """Misaligned, empty, or non-finite arrays are ValueErrors."""
    with pytest.raises(ValueError, match="aligned"):
        paired_bootstrap(np.zeros(3), np.zeros(4), seed=0)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        paired_bootstrap(np.zeros(0), np.zeros(0), seed=0)
    with pytest.raises(ValueError, match="non-finite"):
        bootstrap_interval(np.array([0.0, np.nan]), seed=0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_interval(np.zeros(3), seed=0, confidence=0.0)
