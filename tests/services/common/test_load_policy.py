"""Retry delays double from the first delay up to the cap, shortened by bounded jitter."""

from __future__ import annotations

import random

import pytest

from services.common.load_policy import LoadPolicy


def test_delays_double_up_to_the_cap_without_jitter() -> None:
    """0.5, 1, 2, 4, 8, then the 10 s cap for as long as failures go on."""
    policy = LoadPolicy(first_retry_s=0.5, max_retry_s=10.0, jitter=0.0)
    rng = random.Random(1)
    assert [policy.retry_delay(n, rng) for n in range(1, 8)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        10.0,
        10.0,
    ]
    assert policy.retry_delay(10_000, rng) == 10.0


def test_jitter_only_shortens_a_delay_by_at_most_its_fraction() -> None:
    """With jitter 0.2 every delay lies in [0.8 * base, base] and they differ."""
    policy = LoadPolicy(first_retry_s=1.0, max_retry_s=4.0, jitter=0.2)
    rng = random.Random(7)
    delays = [policy.retry_delay(3, rng) for _ in range(200)]
    assert all(3.2 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 100


def test_seeded_rng_gives_the_same_delays() -> None:
    """The rng is injected: the same seed gives the same schedule."""
    policy = LoadPolicy()
    first = [policy.retry_delay(n, random.Random(3)) for n in range(1, 6)]
    again = [policy.retry_delay(n, random.Random(3)) for n in range(1, 6)]
    assert first == again


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_retry_s": 0.0},
        {"first_retry_s": 20.0, "max_retry_s": 10.0},
        {"multiplier": 0.5},
        {"jitter": 1.0},
        {"lag_window_s": 0.0},
    ],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, float]) -> None:
    """A policy that could retry in a busy loop or never is a ValueError."""
    with pytest.raises(ValueError, match=r"must|need"):
        LoadPolicy(**kwargs)


def test_failures_count_from_one() -> None:
    """retry_delay(0) is a programmer error."""
    with pytest.raises(ValueError, match="from 1"):
        LoadPolicy().retry_delay(0, random.Random(0))
