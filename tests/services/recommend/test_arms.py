"""Which version answers a request and whether the challenger shadows it
(services/recommend/arms.py)."""

from __future__ import annotations

from typing import cast

from structlog.testing import capture_logs

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rollout.cohorts import Cohorts, CohortSalt, Purpose
from services.common.versions import LoadedVersion
from services.recommend.arms import ArmChooser
from services.recommend.front_bundle import FrontBundle

CHAMPION = LoadedVersion("sv-a", "a-sha", cast(FrontBundle, object()))
CHALLENGER = LoadedVersion("sv-b", "b-sha", cast(FrontBundle, object()))
USERS = [str(u) for u in range(400)]


class Versions:
    """The registry as the chooser reads it: a champion, a rollout, a challenger."""

    def __init__(
        self,
        rollout: records_pb2.Rollout | None,
        challenger: LoadedVersion[FrontBundle] | None = CHALLENGER,
    ) -> None:
        self.rollout = rollout
        self.challenger = challenger

    def current_or_raise(self) -> LoadedVersion[FrontBundle]:
        return CHAMPION

    def challenger_version(self) -> LoadedVersion[FrontBundle] | None:
        return self.challenger


def _rollout(mode: records_pb2.RolloutMode.ValueType, share: float) -> records_pb2.Rollout:
    return records_pb2.Rollout(
        rollout_id="r-1",
        experiment_id="exp-1",
        challenger_version="sv-b",
        mode=mode,
        share=share,
    )


def test_without_a_rollout_the_champion_answers_unmarked() -> None:
    choice = ArmChooser(Versions(None)).choose("1")
    assert (choice.version, choice.arm, choice.shadow, choice.rollout) == (CHAMPION, "", None, None)


def test_a_staged_rollout_sends_the_stage_share_to_the_challenger() -> None:
    """Exactly the users whose ROLLOUT bucket is below the share get the challenger."""
    chooser = ArmChooser(Versions(_rollout(records_pb2.ROLLOUT_MODE_STAGED, 0.25)), warmup_s=0.0)
    expected = Cohorts(CohortSalt("exp-1", Purpose.ROLLOUT)).selected(USERS, 0.25)
    for user, selected in zip(USERS, expected.tolist(), strict=True):
        choice = chooser.choose(user)
        assert choice.arm == ("challenger" if selected else "champion")
        assert choice.version is (CHALLENGER if selected else CHAMPION)
        assert choice.shadow is None


def test_a_staged_user_waits_on_the_champion_until_the_challenger_loads() -> None:
    """Marked "champion" and waiting (counted for neither arm), logged once per rollout."""
    chooser = ArmChooser(Versions(_rollout(records_pb2.ROLLOUT_MODE_STAGED, 1.0), None))
    with capture_logs() as logs:
        choices = [chooser.choose(user) for user in USERS[:5]]
    assert {(c.version.version_id, c.arm, c.waiting) for c in choices} == {
        ("sv-a", "champion", True)
    }
    assert [e["event"] for e in logs] == ["rollout_challenger_not_loaded"]


def test_a_shadow_rollout_answers_with_the_champion_and_shadows_the_share() -> None:
    """The SHADOW purpose's cohorts pick the shadowed users; the answer is not an arm."""
    chooser = ArmChooser(Versions(_rollout(records_pb2.ROLLOUT_MODE_SHADOW, 0.3)))
    expected = Cohorts(CohortSalt("exp-1", Purpose.SHADOW)).selected(USERS, 0.3)
    for user, selected in zip(USERS, expected.tolist(), strict=True):
        choice = chooser.choose(user)
        assert (choice.version, choice.arm) == (CHAMPION, "")
        assert choice.shadow is (CHALLENGER if selected else None)


def test_a_record_with_an_invalid_share_serves_the_champion_alone() -> None:
    """Never a failed request: logged once, nobody selected."""
    chooser = ArmChooser(Versions(_rollout(records_pb2.ROLLOUT_MODE_STAGED, 1.5)))
    with capture_logs() as logs:
        arms = {chooser.choose(user).arm for user in USERS[:20]}
    assert arms == {"champion"}
    assert [e["event"] for e in logs] == ["rollout_unusable"]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_neither_arm_is_counted_until_the_challenger_was_held_for_the_warm_up() -> None:
    """While the challenger loads and for warmup_s after, no answer of the stage is
    counted, in either arm (a load overlapping a look never leaves the challenger arm
    short); then both arms are, and their users split by the share alone."""
    clock = Clock()
    versions = Versions(_rollout(records_pb2.ROLLOUT_MODE_STAGED, 0.25), None)
    chooser = ArmChooser(versions, warmup_s=3.0, clock=clock)
    loading = [chooser.choose(user) for user in USERS]
    assert not any(c.counted for c in loading)
    assert {c.arm for c in loading} == {"champion"}
    versions.challenger = CHALLENGER
    clock.now += 1.0
    warming = [chooser.choose(user) for user in USERS]
    clock.now += 2.9
    assert not any(c.counted for c in warming + [chooser.choose(u) for u in USERS])
    clock.now += 0.1
    warm = [chooser.choose(user) for user in USERS]
    assert all(c.counted for c in warm)
    expected = Cohorts(CohortSalt("exp-1", Purpose.ROLLOUT)).selected(USERS, 0.25)
    assert [c.arm == "challenger" for c in warm] == expected.tolist()


def test_a_new_stage_of_a_warm_rollout_is_counted_at_once() -> None:
    """The warm-up follows the challenger held, not the stage: a larger share of the
    same rollout counts from its first request."""
    clock = Clock()
    versions = Versions(_rollout(records_pb2.ROLLOUT_MODE_STAGED, 0.05))
    chooser = ArmChooser(versions, warmup_s=3.0, clock=clock)
    assert not chooser.choose("1").counted
    clock.now += 3.0
    assert chooser.choose("1").counted
    grown = _rollout(records_pb2.ROLLOUT_MODE_STAGED, 0.25)
    grown.stage = 1
    versions.rollout = grown
    assert chooser.choose("1").counted
