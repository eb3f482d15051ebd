"""compare and arm_intervals: every metric of two aligned per-user evaluations."""

from __future__ import annotations

import numpy as np
import pytest

from offline.errors import MisalignedUsersError
from offline.metrics.per_user import PerUserMetrics
from offline.stats.bootstrap import bootstrap_interval, paired_bootstrap
from offline.stats.compare import arm_intervals, compare


def _arm(users: list[int], seed: int, shift: float) -> PerUserMetrics:
    rng = np.random.default_rng(seed)
    n = len(users)
    return PerUserMetrics(
        users=np.array(users, dtype=np.int64),
        values={
            "ndcg@10": np.clip(rng.uniform(0, 0.6, n) + shift, 0, 1),
            "precision@10": rng.uniform(0, 0.5, n),
        },
    )


def test_compare_gives_one_estimate_per_metric_matching_paired_bootstrap() -> None:
    """Each metric's estimate is the paired bootstrap of that metric with the same seed."""
    users = list(range(100))
    champion, challenger = _arm(users, 1, 0.0), _arm(users, 1, 0.05)
    estimates = compare(challenger, champion, seed=4, resamples=500)
    assert set(estimates) == {"ndcg@10", "precision@10"}
    alone = paired_bootstrap(
        challenger.values["ndcg@10"], champion.values["ndcg@10"], seed=4, resamples=500
    )
    assert estimates["ndcg@10"].delta == pytest.approx(alone.delta, abs=1e-12)
    assert estimates["ndcg@10"].ci_low == pytest.approx(alone.ci_low, abs=1e-12)
    assert estimates["ndcg@10"].ci_high == pytest.approx(alone.ci_high, abs=1e-12)
    assert estimates["precision@10"].delta == pytest.approx(0.0)


def test_compare_only_the_requested_metrics() -> None:
    """With `metrics`, only those are estimated; an unknown one is a KeyError."""
    users = list(range(20))
    champion, challenger = _arm(users, 2, 0.0), _arm(users, 3, 0.0)
    assert set(compare(challenger, champion, ["precision@10"], seed=0)) == {"precision@10"}
    with pytest.raises(KeyError, match="recall@10"):
        compare(challenger, champion, ["recall@10"], seed=0)


def test_compare_refuses_arms_over_different_users() -> None:
    """The pairing needs the same users on both sides."""
    with pytest.raises(MisalignedUsersError):
        compare(_arm([1, 2, 3], 0, 0.0), _arm([1, 2, 4], 0, 0.0), seed=0)


def test_arm_intervals_match_bootstrap_interval_per_metric() -> None:
    """Each metric's interval equals bootstrap_interval of that metric with the same seed."""
    arm = _arm(list(range(60)), 5, 0.0)
    intervals = arm_intervals(arm, seed=6, resamples=400)
    alone = bootstrap_interval(arm.values["precision@10"], seed=6, resamples=400)
    assert intervals["precision@10"].value == pytest.approx(alone.value)
    assert intervals["precision@10"].low == pytest.approx(alone.low, abs=1e-12)
    assert intervals["precision@10"].high == pytest.approx(alone.high, abs=1e-12)


def test_every_estimate_carries_p_values_that_agree_with_its_interval() -> None:
    """A clear gain has p_increase below 1 - confidence and p_decrease 1; a null metric's
    p-values are both at least 1 - confidence, as its interval includes zero."""
    users = list(range(200))
    champion, challenger = _arm(users, 1, 0.0), _arm(users, 2, 0.05)
    estimates = compare(challenger, champion, seed=4, resamples=500, confidence=0.9)
    gain, null = estimates["ndcg@10"], estimates["precision@10"]
    assert gain.ci_low > 0.0
    assert gain.p_decrease == 1.0
    assert null.ci_low <= 0.0 <= null.ci_high
    assert gain.p_increase is not None
    assert gain.p_increase < 0.1
    assert null.p_increase is not None
    assert null.p_decrease is not None
    assert min(null.p_increase, null.p_decrease) >= 0.1
