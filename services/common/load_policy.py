"""How a serving process retries a version that failed to load, and how long it may lag.

A failed load of the pointer's version is retried until it succeeds or the pointer
moves on, after a delay that doubles from `first_retry_s` up to `max_retry_s`, each
delay shortened by a random fraction of at most `jitter` so that the replicas of a
service (and the four services, which read the same artifacts) do not retry in step.

`lag_window_s` is the retry window: how long a process may serve something other
than the pointer's version before it says so. Past it, a process that lags logs
`serving_version_lagging`, and a downstream service that holds neither the pointer's
version nor one the pointer named or a request asked for within the window reports
NOT_SERVING (`services/common/readiness.py`). It must exceed a normal load (about 10 s for an
XGBoost version on 2 busy cores) with room for a few retries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadPolicy:
    first_retry_s: float = 0.5
    max_retry_s: float = 15.0
    multiplier: float = 2.0
    jitter: float = 0.2
    lag_window_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.first_retry_s <= self.max_retry_s:
            raise ValueError("need 0 < first_retry_s <= max_retry_s")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.lag_window_s <= 0:
            raise ValueError("lag_window_s must be positive")

    def retry_delay(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after the `failures`-th consecutive failure (1 for the first):
        first_retry_s * multiplier**(failures - 1), capped at max_retry_s, then reduced
        by up to `jitter` of itself. Never more than max_retry_s."""
        if failures < 1:
            raise ValueError("failures counts from 1")
        exponent = min(failures - 1, 64)  # past the cap already; keeps the power finite
        base = min(self.max_retry_s, self.first_retry_s * self.multiplier**exponent)
        return base * (1.0 - self.jitter * rng.random())
