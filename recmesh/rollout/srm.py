"""Sample-ratio mismatch: does a stage's split of users match its share?

If the challenger arm of a 5 % stage receives 6 % of the users, users are not being
assigned (or logged) as planned, and every guardrail comparing the arms reads biased
data, so the stage must stop until the cause is found.

The check runs at every look of a stage, so it must stay valid when looked at
repeatedly: a fixed-sample test (a chi-square at alpha 0.001) repeated over 360 looks
stops about 3 % of healthy stages. This one is sequential (`METHOD`): each unit is on
the challenger with probability p0 (the stage's share) under "as planned"; the
alternative mixes every p over a Beta(c*p0, c*(1-p0)) prior (c = `CONCENTRATION`,
centred on the share). The Bayes factor of the counts,

    BF = B(c*p0 + x, c*(1-p0) + n - x) / B(c*p0, c*(1-p0)) / (p0^x * (1-p0)^(n-x)),

is a nonnegative martingale with mean 1 under "as planned", so by Ville's inequality
it ever reaches 1/alpha with probability at most alpha, however often it is looked at.
A stage stops when BF >= 1/alpha; p = min(1, 1/BF) is reported with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betaln

from recmesh.rollout.cohorts import check_share

DEFAULT_SRM_ALPHA = 0.001
#: The method's name, as plans record it and messages say it.
METHOD = "beta-binomial-mixture-sequential/v1"
#: The prior's concentration c: Beta(c*p0, c*(1-p0)) has mean p0 and a standard deviation
#: of about sqrt(p0*(1-p0)/c), so it weighs mismatches of a few points of share most.
CONCENTRATION = 100.0


@dataclass(frozen=True)
class SampleRatioCheck:
    """The outcome of one SRM check: the counts, the test, the decision, and why."""

    expected_share: float
    champion: int
    challenger: int
    #: min(1, 1/BF): the anytime-valid p-value at this look.
    p_value: float
    alpha: float
    mismatch: bool
    message: str
    method: str = METHOD

    @property
    def total(self) -> int:
        return self.champion + self.challenger

    @property
    def observed_share(self) -> float:
        """The challenger's share of the units counted (0 when there were none)."""
        return self.challenger / self.total if self.total else 0.0


def log_bayes_factor(
    expected_share: float,
    total: npt.ArrayLike,
    challenger: npt.ArrayLike,
    concentration: float = CONCENTRATION,
) -> npt.NDArray[np.float64]:
    """log BF of `challenger` of `total` units against the share (elementwise), for a share
    strictly inside (0, 1)."""
    n = np.asarray(total, dtype=np.float64)
    x = np.asarray(challenger, dtype=np.float64)
    a = concentration * expected_share
    b = concentration * (1.0 - expected_share)
    result: npt.NDArray[np.float64] = (
        betaln(a + x, b + n - x)
        - betaln(a, b)
        - x * math.log(expected_share)
        - (n - x) * math.log1p(-expected_share)
    )
    return result


def _p_value(expected_share: float, champion: int, challenger: int) -> float:
    total = champion + challenger
    if total == 0:
        return 1.0
    if expected_share in (0.0, 1.0):
        # One arm should be empty: any unit there is an outright mismatch.
        empty_arm = challenger if expected_share == 0.0 else champion
        return 0.0 if empty_arm else 1.0
    log_bf = float(log_bayes_factor(expected_share, total, challenger))
    return min(1.0, math.exp(-log_bf)) if log_bf > -700 else 1.0


def check_sample_ratio(
    expected_share: float,
    champion: int,
    challenger: int,
    alpha: float = DEFAULT_SRM_ALPHA,
    *,
    unit: str = "requests",
) -> SampleRatioCheck:
    """Test observed counts per arm (of `unit`, as the message names them: requests, or
    distinct users) against the stage's challenger share, sequentially (`METHOD`).

    A mismatch is BF >= 1/alpha, i.e. p = 1/BF <= alpha. No units at all is no evidence,
    so no mismatch.
    """
    check_share(expected_share)
    if champion < 0 or challenger < 0:
        raise ValueError(f"counts cannot be negative: {champion}, {challenger}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha is in (0, 1), not {alpha!r}")
    p_value = _p_value(expected_share, champion, challenger)
    total = champion + challenger
    mismatch = total > 0 and p_value <= alpha
    observed = challenger / total if total else 0.0
    split = (
        f"challenger {challenger:,} of {total:,} {unit} ({observed:.2%}), "
        f"champion {champion:,}; expected share {expected_share:.2%}"
    )
    test = f"{METHOD} (Beta prior concentration {CONCENTRATION:g}), p = 1/BF = {p_value:.3g}"
    if mismatch:
        message = (
            f"sample-ratio mismatch: {split}; {test} <= alpha {alpha:g}. "
            "Stop the stage and do not trust its guardrails: check that every "
            "serving process uses the stage's salt and share, and that both arms' "
            f"{unit} reach the counts."
        )
    else:
        message = f"sample ratio as planned: {split}; {test} > alpha {alpha:g}."
    return SampleRatioCheck(
        expected_share=expected_share,
        champion=champion,
        challenger=challenger,
        p_value=p_value,
        alpha=alpha,
        mismatch=mismatch,
        message=message,
    )
