"""The anytime-valid bounds of recmesh.rollout.sequential, checked on seeded simulations
looked at every 50 observations up to 5,000 (vectorized: one call bounds every look of
every stream)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from recmesh.rollout.sequential import (
    difference_lower_bound,
    rate_lower_bound,
    rate_upper_bound,
)

STREAMS = 200
STEP = 50
LOOKS = np.arange(STEP, 5_001, STEP)


def cumulative_events(rng: np.random.Generator, rate: float) -> NDArray[np.int64]:
    """Each stream's cumulative event count at every look."""
    return np.cumsum(rng.binomial(STEP, rate, size=(STREAMS, LOOKS.size)), axis=1)


@pytest.mark.parametrize("rate", [0.01, 0.2])
def test_equal_arms_breach_at_most_alpha_of_streams_over_all_looks(rate: float) -> None:
    """With equal arms (the null's boundary, margin 0) the share of streams whose bound
    ever exceeds zero, over 100 looks each, stays at or below alpha."""
    rng = np.random.default_rng(19)
    challenger, champion = cumulative_events(rng, rate), cumulative_events(rng, rate)
    bound = difference_lower_bound(challenger, LOOKS, champion, LOOKS, 0.05)
    assert (bound > 0.0).any(axis=1).mean() <= 0.05 + 0.02


@pytest.mark.parametrize("rate", [0.01, 0.2])
def test_one_arm_bounds_fail_at_most_alpha_of_streams_over_all_looks(rate: float) -> None:
    """At a loose alpha, where violations do happen, the one-sided bounds still miss the
    true rate at some look in at most alpha of the streams."""
    rng = np.random.default_rng(7)
    events = cumulative_events(rng, rate)
    alpha = 0.2
    assert (rate_lower_bound(events, LOOKS, alpha) > rate).any(axis=1).mean() <= alpha + 0.05
    assert (rate_upper_bound(events, LOOKS, alpha) < rate).any(axis=1).mean() <= alpha + 0.05


def test_a_tripled_error_rate_is_detected_within_5000_requests_per_arm() -> None:
    """A challenger failing 3 % of requests against the champion's 1 % is caught beyond a
    0.25-point margin by 5,000 requests per arm in at least 90 % of streams."""
    rng = np.random.default_rng(3)
    challenger, champion = cumulative_events(rng, 0.03), cumulative_events(rng, 0.01)
    bound = difference_lower_bound(challenger, LOOKS, champion, LOOKS, 0.05)
    assert (bound > 0.0025).any(axis=1).mean() >= 0.9


def test_bounds_bracket_the_estimate_and_tighten_with_data() -> None:
    """The lower bound sits below events/trials and the upper above it, and ten times the
    data gives a narrower interval."""
    lower = rate_lower_bound([10, 100], [1_000, 10_000], 0.05)
    upper = rate_upper_bound([10, 100], [1_000, 10_000], 0.05)
    assert np.all(lower < 0.01)
    assert np.all(upper > 0.01)
    assert upper[1] - lower[1] < upper[0] - lower[0]


def test_no_trials_bound_nothing() -> None:
    """With no observations the rate is only known to lie in [0, 1]."""
    assert float(rate_lower_bound(0, 0, 0.05)) == 0.0
    assert float(rate_upper_bound(0, 0, 0.05)) == 1.0


def test_counts_and_alpha_out_of_range_are_refused() -> None:
    """More events than trials, or an alpha outside (0, 1), raise ValueError."""
    with pytest.raises(ValueError, match="events"):
        rate_lower_bound(5, 4, 0.05)
    with pytest.raises(ValueError, match="alpha"):
        rate_lower_bound(1, 4, 1.0)
