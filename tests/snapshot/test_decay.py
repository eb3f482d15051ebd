"""decay_factors: a weight halves every half-life."""

from __future__ import annotations

import numpy as np

from recmesh.snapshot.decay import decay_factors
from tests.snapshot.datasets import DAY


def test_factor_is_one_at_age_zero_and_halves_each_half_life() -> None:
    """Ages 0, 1 and 2 half-lives give 1, 1/2 and 1/4."""
    timestamps = np.array([100 * DAY, 70 * DAY, 40 * DAY], dtype=np.int64)
    assert np.array_equal(decay_factors(timestamps, 100 * DAY, 30.0), [1.0, 0.5, 0.25])


def test_timestamps_after_the_reference_count_as_age_zero() -> None:
    """No factor exceeds 1."""
    assert decay_factors(np.array([200 * DAY], dtype=np.int64), 100 * DAY, 30.0)[0] == 1.0


def test_reference_may_differ_per_timestamp() -> None:
    """An array of references decays each timestamp from its own reference."""
    timestamps = np.array([0, 0], dtype=np.int64)
    references = np.array([0, 30 * DAY], dtype=np.int64)
    assert np.array_equal(decay_factors(timestamps, references, 30.0), [1.0, 0.5])
