"""Sample-ratio mismatch: does a stage's split of requests match its share?

If the challenger arm of a 5 % stage receives 6 % of the requests, users are not
being assigned (or logged) as planned, and every guardrail comparing the arms reads
biased data. A chi-square goodness-of-fit test of the observed arm counts against
the stage's share says how surprising the split is; below a small alpha (0.001 by
default: the check runs at every look, and a false stop costs a rollout) the stage
must stop until the cause is found.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import chisquare

from recmesh.rollout.cohorts import check_share

DEFAULT_SRM_ALPHA = 0.001


@dataclass(frozen=True)
class SampleRatioCheck:
    """The outcome of one SRM check: the counts, the test, the decision, and why."""

    expected_share: float
    champion: int
    challenger: int
    p_value: float
    alpha: float
    mismatch: bool
    message: str

    @property
    def total(self) -> int:
        return self.champion + self.challenger

    @property
    def observed_share(self) -> float:
        """The challenger's share of the requests (0 when there were none)."""
        return self.challenger / self.total if self.total else 0.0


def _p_value(expected_share: float, champion: int, challenger: int) -> float:
    total = champion + challenger
    if total == 0:
        return 1.0
    if expected_share in (0.0, 1.0):
        # One arm should be empty: the chi-square statistic is undefined, the
        # answer is not: any request there is an outright mismatch.
        empty_arm = challenger if expected_share == 0.0 else champion
        return 0.0 if empty_arm else 1.0
    expected = [total * (1.0 - expected_share), total * expected_share]
    return float(chisquare([champion, challenger], f_exp=expected).pvalue)


def check_sample_ratio(
    expected_share: float,
    champion: int,
    challenger: int,
    alpha: float = DEFAULT_SRM_ALPHA,
    *,
    unit: str = "requests",
) -> SampleRatioCheck:
    """Test observed counts per arm (of `unit`, as the message names them: requests, or
    distinct users) against the stage's challenger share.

    A mismatch is p < alpha. No requests at all is no evidence, so no mismatch.
    """
    check_share(expected_share)
    if champion < 0 or challenger < 0:
        raise ValueError(f"request counts cannot be negative: {champion}, {challenger}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha is in (0, 1), not {alpha!r}")
    p_value = _p_value(expected_share, champion, challenger)
    mismatch = p_value < alpha
    total = champion + challenger
    observed = challenger / total if total else 0.0
    split = (
        f"challenger {challenger:,} of {total:,} {unit} ({observed:.2%}), "
        f"champion {champion:,}; expected share {expected_share:.2%}"
    )
    if mismatch:
        message = (
            f"sample-ratio mismatch: {split}, p = {p_value:.3g} < alpha {alpha:g}. "
            "Stop the stage and do not trust its guardrails: check that every "
            "serving process uses the stage's salt and share, and that both arms' "
            "requests reach the impression log."
        )
    else:
        message = f"sample ratio as planned: {split}, p = {p_value:.3g} >= alpha {alpha:g}."
    return SampleRatioCheck(
        expected_share=expected_share,
        champion=champion,
        challenger=challenger,
        p_value=p_value,
        alpha=alpha,
        mismatch=mismatch,
        message=message,
    )
