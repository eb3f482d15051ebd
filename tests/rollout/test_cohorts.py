"""Cohorts: stable, nested, close to their share, and independent across salts."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.rollout.cohorts import Arm, Cohorts, CohortSalt, Purpose, check_share

ROLLOUT = Cohorts(CohortSalt("exp-1", Purpose.ROLLOUT))
SYNTHETIC_IDS = [f"user-{n}" for n in range(100_000)]


def test_buckets_are_pinned_for_known_ids() -> None:
    """The bucket of a fixed id never changes: not across processes, releases or restarts."""
    pinned = {
        "1": 0.08213551898392146,
        "2": 0.1713878144125599,
        "42": 0.6871233501336848,
        "alice": 0.938799472810104,
        "user-123": 0.2620311124390522,
    }
    assert {user: ROLLOUT.bucket(user) for user in pinned} == pinned
    assert ROLLOUT.buckets(list(pinned)).tolist() == list(pinned.values())


def test_a_new_instance_gives_the_same_buckets() -> None:
    """Buckets depend on the salt and the id only: a restarted process agrees."""
    again = Cohorts(CohortSalt("exp-1", Purpose.ROLLOUT))
    ids = SYNTHETIC_IDS[:1000]
    assert np.array_equal(again.buckets(ids), ROLLOUT.buckets(ids))
    assert [again.bucket(user) for user in ids] == [ROLLOUT.bucket(user) for user in ids]


def test_scalar_and_vectorized_forms_agree() -> None:
    """bucket/selects (hot path) equal buckets/selected (batch) for every user."""
    ids = SYNTHETIC_IDS[:5000]
    assert ROLLOUT.buckets(ids).tolist() == [ROLLOUT.bucket(user) for user in ids]
    mask = ROLLOUT.selected(ids, 0.25)
    assert mask.tolist() == [ROLLOUT.selects(user, 0.25) for user in ids]


def test_buckets_lie_in_the_unit_interval() -> None:
    """Every bucket is in [0, 1), so share 0 selects nobody and share 1 everybody."""
    buckets = ROLLOUT.buckets(SYNTHETIC_IDS)
    assert buckets.min() >= 0.0
    assert buckets.max() < 1.0
    assert not ROLLOUT.selected(SYNTHETIC_IDS, 0.0).any()
    assert ROLLOUT.selected(SYNTHETIC_IDS, 1.0).all()


def test_stages_are_nested() -> None:
    """Every user of the 5 % stage is in the 25 % stage, and every 25 % user at 100 %."""
    five = ROLLOUT.selected(SYNTHETIC_IDS, 0.05)
    quarter = ROLLOUT.selected(SYNTHETIC_IDS, 0.25)
    assert five.any()
    assert not (five & ~quarter).any()
    assert not (quarter & ~ROLLOUT.selected(SYNTHETIC_IDS, 1.0)).any()


@pytest.mark.parametrize("share", [0.01, 0.05, 0.2, 0.25, 0.5, 0.9])
def test_shares_are_close_to_nominal(share: float) -> None:
    """On 100,000 ids the selected fraction is within 5 binomial standard errors of the share."""
    observed = ROLLOUT.selected(SYNTHETIC_IDS, share).mean()
    standard_error = (share * (1 - share) / len(SYNTHETIC_IDS)) ** 0.5
    assert abs(observed - share) < 5 * standard_error


def _overlap(first: Cohorts, second: Cohorts, share: float) -> float:
    return float(
        (first.selected(SYNTHETIC_IDS, share) & second.selected(SYNTHETIC_IDS, share)).mean()
    )


@pytest.mark.parametrize(
    "other",
    [CohortSalt("exp-2", Purpose.ROLLOUT), CohortSalt("exp-1", Purpose.SHADOW)],
    ids=["another experiment", "the shadow purpose"],
)
def test_different_salts_give_independent_cohorts(other: CohortSalt) -> None:
    """Two salts' 20 % selections overlap on about 4 % of users, as independent draws do."""
    share = 0.2
    overlap = _overlap(ROLLOUT, Cohorts(other), share)
    expected = share * share
    standard_error = (expected * (1 - expected) / len(SYNTHETIC_IDS)) ** 0.5
    assert abs(overlap - expected) < 5 * standard_error
    correlation = np.corrcoef(ROLLOUT.buckets(SYNTHETIC_IDS), Cohorts(other).buckets(SYNTHETIC_IDS))
    assert abs(correlation[0, 1]) < 0.02


def test_purposes_of_one_experiment_never_share_a_key() -> None:
    """The rollout and the shadow selection of an experiment hash with different keys."""
    keys = {CohortSalt("exp-1", purpose).key() for purpose in Purpose}
    assert len(keys) == len(Purpose)


def test_arm_follows_the_bucket() -> None:
    """A user below the share gets the challenger, the others the champion."""
    for user in SYNTHETIC_IDS[:200]:
        expected = Arm.CHALLENGER if ROLLOUT.bucket(user) < 0.3 else Arm.CHAMPION
        assert ROLLOUT.arm(user, 0.3) is expected


def test_a_user_keeps_the_arm_on_every_request() -> None:
    """Repeated requests within a stage (or after a pause) give the same arm."""
    arms = {user: ROLLOUT.arm(user, 0.25) for user in SYNTHETIC_IDS[:500]}
    for _ in range(3):
        assert {user: ROLLOUT.arm(user, 0.25) for user in arms} == arms


@pytest.mark.parametrize("share", [-0.1, 1.5, float("nan")])
def test_a_share_outside_the_unit_interval_is_refused(share: float) -> None:
    """A share is a fraction in [0, 1]; anything else is a programmer error."""
    with pytest.raises(ValueError, match="share"):
        check_share(share)
    with pytest.raises(ValueError, match="share"):
        ROLLOUT.selects("1", share)


def test_a_salt_needs_an_experiment() -> None:
    """An empty experiment id would make every experiment's cohorts the same."""
    with pytest.raises(ValueError, match="experiment"):
        CohortSalt("", Purpose.ROLLOUT)
