"""Anytime-valid bounds on a Bernoulli rate, and on the gap between two arms' rates.

A stage's guardrails are looked at again and again while traffic flows. A fixed-n
test (a z-test, a bootstrap interval) checked at every look breaches on noise far more
often than its alpha; a confidence sequence does not: with probability at least
1 - alpha its bounds hold at every sample size at once, so they may be read after each
request, at any schedule, and a stage may stop the first time they exclude the null.

**One arm.** For a stream of Bernoulli(p) observations with `events` ones in `trials`,
and any q, lambda > 0,

    M_n(q, lambda) = exp(lambda * events - trials * log(1 - q + q * e^lambda))

is the likelihood ratio of the exponentially tilted rate against q: a nonnegative
supermartingale with M_0 = 1 whenever p <= q (one step multiplies it by
(1 - p + p e^lambda) / (1 - q + q e^lambda) <= 1 in expectation). So is any mixture
with weights summing to one; here a uniform mixture over a geometric grid of lambda
(`LAMBDAS`, tilts from 1.6 % to a factor of e^8), which adapts to the size of the gap
and to the rate's own variance (a 1 % error rate is bounded far tighter than
Hoeffding's worst case 1/4 would allow). By Ville's inequality P(exists n:
M_n >= 1/alpha) <= alpha, so {q : M_n(q) < 1/alpha} is a one-sided confidence sequence
for p (Robbins' mixture method; Howard, Ramdas, McAuliffe and Sekhon, "Time-uniform,
nonparametric, nonasymptotic confidence sequences", Ann. Statist. 2021). M_n(q) falls
as q grows, so its lower end is found by bisection on [0, events / trials]; the upper
end is the lower end of the non-events' rate, subtracted from one.

**Two arms.** `difference_lower_bound` is the challenger's lower bound minus the
champion's upper bound, each at alpha / 2: both hold at every look with probability at
least 1 - alpha (a union bound), so the difference of the true rates is at least this
bound at every look, whatever the arms' sample sizes and however their requests
interleave. The split into two one-arm sequences costs some power against a paired
test, and buys a bound that needs only each arm's cumulative counts.

Functions take numpy arrays (or scalars) and broadcast, so one call bounds many looks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: The tilts lambda of the mixture: 2^(k/2) for k = -12 .. 6, uniform weights.
LAMBDAS: NDArray[np.float64] = 2.0 ** (np.arange(-12, 7, dtype=np.float64) / 2.0)
_EXPM1_LAMBDAS = np.expm1(LAMBDAS)
_LOG_WEIGHT = -float(np.log(LAMBDAS.size))
#: Bisection steps: the bounds are exact to 2^-32 of the estimate.
_BISECTION_STEPS = 32


def log_mixture(events: ArrayLike, trials: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """log of the mixture supermartingale for "rate <= q" after `events` in `trials`."""
    x = np.asarray(events, dtype=np.float64)[..., np.newaxis]
    n = np.asarray(trials, dtype=np.float64)[..., np.newaxis]
    qq = np.asarray(q, dtype=np.float64)[..., np.newaxis]
    terms = LAMBDAS * x - n * np.log1p(qq * _EXPM1_LAMBDAS) + _LOG_WEIGHT
    top = terms.max(axis=-1)
    return np.asarray(top + np.log(np.exp(terms - top[..., np.newaxis]).sum(axis=-1)))


def rate_lower_bound(events: ArrayLike, trials: ArrayLike, alpha: float) -> NDArray[np.float64]:
    """A lower bound on the rate that holds at every sample size with probability at least
    1 - alpha: the least q whose mixture stays below 1/alpha. 0 with no trials."""
    _check_alpha(alpha)
    x, n = _counts(events, trials)
    threshold = -np.log(alpha)
    low = np.zeros_like(x)
    high = np.divide(x, n, out=np.zeros_like(x), where=n > 0)
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2.0
        rejected = log_mixture(x, n, middle) >= threshold
        low = np.where(rejected, middle, low)
        high = np.where(rejected, high, middle)
    return np.asarray(low)


def rate_upper_bound(events: ArrayLike, trials: ArrayLike, alpha: float) -> NDArray[np.float64]:
    """An upper bound on the rate, valid at every sample size with probability at least
    1 - alpha: one minus the lower bound of the non-events' rate. 1 with no trials."""
    x, n = _counts(events, trials)
    return np.asarray(1.0 - rate_lower_bound(n - x, n, alpha))


def difference_lower_bound(
    challenger_events: ArrayLike,
    challenger_trials: ArrayLike,
    champion_events: ArrayLike,
    champion_trials: ArrayLike,
    alpha: float,
) -> NDArray[np.float64]:
    """A lower bound on challenger rate - champion rate, valid at every look (every pair of
    sample sizes) with probability at least 1 - alpha."""
    return np.asarray(
        rate_lower_bound(challenger_events, challenger_trials, alpha / 2.0)
        - rate_upper_bound(champion_events, champion_trials, alpha / 2.0)
    )


def _counts(
    events: ArrayLike, trials: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, n = np.broadcast_arrays(
        np.asarray(events, dtype=np.float64), np.asarray(trials, dtype=np.float64)
    )
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("events must lie between 0 and trials")
    return x.astype(np.float64), n.astype(np.float64)


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, not {alpha}")
