"""bootstrap_means and percentile_interval: determinism, shapes, and basic sanity."""

from __future__ import annotations

import numpy as np
import pytest

from offline.stats import resampling
from offline.stats.resampling import bootstrap_means, percentile_interval


def test_same_seed_gives_identical_resamples() -> None:
    """The resample means are a pure function of (values, resamples, seed)."""
    values = np.random.default_rng(0).normal(size=(50, 3))
    assert np.array_equal(bootstrap_means(values, 200, seed=9), bootstrap_means(values, 200, 9))
    assert not np.array_equal(bootstrap_means(values, 200, 9), bootstrap_means(values, 200, 10))


def test_every_column_is_averaged_over_the_same_drawn_users() -> None:
    """Column b - column a resampled equals the resampled difference (the pairing)."""
    values = np.random.default_rng(1).normal(size=(40, 2))
    means = bootstrap_means(values, 300, seed=3)
    diff = bootstrap_means((values[:, 1] - values[:, 0])[:, None], 300, seed=3)
    assert np.allclose(means[:, 1] - means[:, 0], diff[:, 0], atol=1e-12)


def test_resample_means_center_on_the_mean_and_constants_do_not_vary() -> None:
    """A constant column resamples to itself; others scatter around their mean."""
    rng = np.random.default_rng(2)
    values = np.column_stack([np.full(100, 0.25), rng.uniform(size=100)])
    means = bootstrap_means(values, 2000, seed=4)
    assert means.shape == (2000, 2)
    assert np.allclose(means[:, 0], 0.25)
    assert means[:, 1].mean() == pytest.approx(values[:, 1].mean(), abs=0.005)


def test_blocks_cover_every_resample(monkeypatch: pytest.MonkeyPatch) -> None:
    """With tiny blocks, every resample is still drawn and filled."""
    monkeypatch.setattr(resampling, "_BLOCK_CELLS", 7)
    means = bootstrap_means(np.arange(5, dtype=np.float64)[:, None], 11, seed=0)
    assert means.shape == (11, 1)
    assert np.all((means >= 0) & (means <= 4))
    assert np.all(np.isclose(means * 5, np.round(means * 5)))  # sums of drawn integers


def test_percentile_interval_takes_the_symmetric_quantiles() -> None:
    """At 90%, the interval of 0..100 is [5, 95]."""
    samples = np.arange(101, dtype=np.float64)[:, None]
    low, high = percentile_interval(samples, 0.9)
    assert (low[0], high[0]) == pytest.approx((5.0, 95.0))


def test_bad_arguments_are_rejected() -> None:
    """No users, no resamples, or a confidence outside (0, 1) are ValueErrors."""
    with pytest.raises(ValueError, match="empty"):
        bootstrap_means(np.zeros((0, 1)), 10, seed=0)
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_means(np.zeros((3, 1)), 0, seed=0)
    with pytest.raises(ValueError, match="confidence"):
        percentile_interval(np.zeros((3, 1)), 1.0)


def test_p_values_say_exactly_when_the_interval_clears_zero() -> None:
    """p_increase < 1 - c iff the interval's low end is above 0, p_decrease iff its high
    end is below 0, at every confidence, for continuous samples and for samples with ties
    and exact zeros."""
    rng = np.random.default_rng(5)
    columns = [rng.normal(loc, 1.0, size=999) for loc in (-3.0, -1.9, 0.0, 1.5, 2.1, 4.0)]
    columns += [np.round(rng.normal(loc, 2.0, size=400)) for loc in (0.0, 3.0, -4.0)]
    columns += [np.zeros(200)]
    for samples in columns:
        p_increase, p_decrease = resampling.improvement_p_values(samples[:, None])
        for confidence in np.linspace(0.5, 0.99, 50):
            low, high = percentile_interval(samples[:, None], float(confidence))
            alpha = 1.0 - float(confidence)
            assert (low[0] > 0.0) == (p_increase[0] < alpha), (confidence, low, p_increase)
            assert (high[0] < 0.0) == (p_decrease[0] < alpha), (confidence, high, p_decrease)


def test_p_values_are_twice_the_interpolated_share_on_the_other_side() -> None:
    """-10..89: the quantile is 0 at index 10 of 99, so p_increase is 2 x 10/99; the share
    at or above 0 is 89/99, so p_decrease is capped at 1; all above 0: 0 and 1."""
    samples = np.column_stack([np.arange(-10.0, 90.0), np.arange(1.0, 101.0)])
    p_increase, p_decrease = resampling.improvement_p_values(samples)
    assert p_increase.tolist() == pytest.approx([20 / 99, 0.0])
    assert p_decrease.tolist() == [1.0, 1.0]
    p_increase, p_decrease = resampling.improvement_p_values(-samples)
    assert p_decrease.tolist() == pytest.approx([20 / 99, 0.0])
    assert p_increase.tolist() == [1.0, 1.0]
