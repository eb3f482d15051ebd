"""Sample-ratio mismatch: a forced mismatch stops the stage, a fair split passes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import betaln
from scipy.stats import chi2

from recmesh.rollout.cohorts import Cohorts, CohortSalt, Purpose
from recmesh.rollout.srm import (
    CONCENTRATION,
    DEFAULT_SRM_ALPHA,
    METHOD,
    check_sample_ratio,
    log_bayes_factor,
)


def test_a_forced_mismatch_is_flagged() -> None:
    """6 % of 20,000 requests on a 5 % challenger is a mismatch, with an actionable message."""
    check = check_sample_ratio(0.05, champion=18_800, challenger=1_200)
    assert check.mismatch
    assert check.p_value < DEFAULT_SRM_ALPHA
    assert check.alpha == DEFAULT_SRM_ALPHA
    assert "sample-ratio mismatch" in check.message
    assert "Stop the stage" in check.message
    assert "1,200 of 20,000" in check.message


def test_a_fair_split_passes() -> None:
    """A split at the share's expectation is no mismatch."""
    check = check_sample_ratio(0.25, champion=7_500, challenger=2_500)
    assert not check.mismatch
    assert check.p_value == pytest.approx(1.0)
    assert check.observed_share == pytest.approx(0.25)
    assert "as planned" in check.message


def test_the_cohorts_own_split_passes() -> None:
    """Requests assigned by Cohorts at 5 % show no mismatch."""
    cohorts = Cohorts(CohortSalt("exp-srm", Purpose.ROLLOUT))
    challenger = int(cohorts.selected([f"u{n}" for n in range(50_000)], 0.05).sum())
    assert not check_sample_ratio(0.05, 50_000 - challenger, challenger).mismatch


def test_the_p_value_is_one_over_the_beta_binomial_bayes_factor() -> None:
    """p = 1/BF, with BF the Beta(c*p0, c*(1-p0)) mixture of binomial likelihoods over
    the binomial likelihood at the share, computed by hand."""
    champion, challenger, share = 900, 130, 0.1
    total = champion + challenger
    a, b = CONCENTRATION * share, CONCENTRATION * (1 - share)
    log_bf = (
        betaln(a + challenger, b + champion)
        - betaln(a, b)
        - challenger * np.log(share)
        - champion * np.log(1 - share)
    )
    check = check_sample_ratio(share, champion, challenger)
    assert check.p_value == pytest.approx(min(1.0, float(np.exp(-log_bf))))
    assert check.method == METHOD
    assert METHOD in check.message
    assert total == check.total


def test_the_alpha_decides() -> None:
    """The same counts pass at a small alpha and fail at a larger one."""
    champion, challenger = 18_800, 1_200  # 6 % on 5 %: p = 1/BF ~ 4e-8
    assert check_sample_ratio(0.05, champion, challenger, alpha=1e-9).mismatch is False
    assert check_sample_ratio(0.05, champion, challenger, alpha=0.001).mismatch is True


def test_a_real_mismatch_stops() -> None:
    """No challenger user among 400 at share 0.5, and 5.8 % of 40,000 at 5 %, stop."""
    assert check_sample_ratio(0.5, champion=400, challenger=0).mismatch
    assert check_sample_ratio(0.05, champion=37_680, challenger=2_320).mismatch


@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.001])
def test_repeated_looks_at_a_healthy_stage_stop_at_most_alpha_of_them(alpha: float) -> None:
    """4,000 simulated stages with no mismatch (share 0.05, 40 new users per look), each
    looked at 360 times: the share ever stopped is at most alpha (Ville's inequality);
    a chi-square at the same alpha repeated at every look stops more than alpha."""
    rng = np.random.default_rng(19)
    streams, looks, per_look, share = 4_000, 360, 40, 0.05
    arrivals = rng.binomial(per_look, share, size=(streams, looks))
    challenger = np.cumsum(arrivals, axis=1)
    total = per_look * np.arange(1, looks + 1)
    log_bf = log_bayes_factor(share, total[None, :], challenger)
    stopped = (log_bf >= np.log(1 / alpha)).any(axis=1).mean()
    assert stopped <= alpha
    expected = total * share
    statistic = (challenger - expected) ** 2 / (expected * (1 - share))
    fixed = (chi2.sf(statistic, df=1) < alpha).any(axis=1).mean()
    assert fixed > alpha


def test_no_requests_is_no_evidence() -> None:
    """A stage that has seen no requests has no mismatch yet."""
    check = check_sample_ratio(0.05, champion=0, challenger=0)
    assert not check.mismatch
    assert check.observed_share == 0.0


@pytest.mark.parametrize(
    ("share", "champion", "challenger", "mismatch"),
    [(0.0, 10, 0, False), (0.0, 10, 1, True), (1.0, 0, 10, False), (1.0, 1, 10, True)],
)
def test_shares_of_zero_and_one(
    share: float, champion: int, challenger: int, mismatch: bool
) -> None:
    """At 0 % or 100 % any request on the arm that should be empty is a mismatch."""
    assert check_sample_ratio(share, champion, challenger).mismatch is mismatch


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ((1.5, 1, 1, 0.001), "share"),
        ((0.5, -1, 1, 0.001), "negative"),
        ((0.5, 1, 1, 0.0), "alpha"),
        ((0.5, 1, 1, 1.0), "alpha"),
    ],
)
def test_invalid_arguments_are_refused(
    arguments: tuple[float, int, int, float], complaint: str
) -> None:
    """A share outside [0, 1], a negative count or an alpha outside (0, 1) is refused."""
    share, champion, challenger, alpha = arguments
    with pytest.raises(ValueError, match=complaint):
        check_sample_ratio(share, champion, challenger, alpha)
