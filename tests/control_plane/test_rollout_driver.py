"""The rollout driver on a real control plane: hold, advance, complete, roll back, stop."""

from __future__ import annotations

import time

import grpc
import pytest

from control_plane.rollout_driver import DRIVER_ACTOR
from control_plane.store.errors import ConflictError
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rollout.arm_counts import ArmTally
from recmesh.rollout.srm import METHOD as SRM_METHOD
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error
from tests.control_plane.rollout_rig import (
    RolloutRig,
    Wired,
    error_guardrail,
    latency_guardrail,
    plan,
    promote_staged,
)

#: A healthy 5 % stage: users split 950 / 50, 1 % of each arm slow, no errors.
HEALTHY_CHAMPION = ArmTally(requests=2000, errors=0, degraded=0, slow=20, users=950)
HEALTHY_CHALLENGER = ArmTally(requests=100, errors=0, degraded=0, slow=1, users=50)


def _started(
    cp: ControlPlaneHarness, rollout_plan: records_pb2.RolloutPlan | None = None
) -> tuple[str, str]:
    """An approved experiment in its first stage: (experiment id, rollout id)."""
    experiment = cp.approved_experiment(cp.challenger_a)
    response = promote_staged(
        cp,
        experiment.experiment_id,
        rollout_plan or plan(guardrails=(latency_guardrail(), error_guardrail())),
    )
    return experiment.experiment_id, response.rollout.rollout_id


def test_a_stage_with_too_few_requests_does_not_advance(
    control_plane: ControlPlaneHarness,
) -> None:
    """Held long enough, but the challenger has 20 of the 50 requests it needs: hold, and
    the look says so; the pointer stays at stage 0."""
    cp = control_plane
    rig = RolloutRig(cp)
    experiment_id, rollout_id = _started(cp)
    rig.front_counts(
        rollout_id,
        0,
        ArmTally(requests=400, slow=4, users=190),
        ArmTally(requests=20, slow=0, users=10),
    )
    rig.clock.advance(120)
    assert rig.look(experiment_id) == "hold"
    looks = rig.rollout(experiment_id).looks
    assert len(looks) == 1
    assert "challenger 20, each needs 50" in looks[0].reason
    assert {g.status for g in looks[0].guardrails} == {"NOT_ENOUGH_DATA"}
    assert cp.pointer().rollout.stage == 0


def test_a_breached_latency_guardrail_rolls_the_stage_back(
    control_plane: ControlPlaneHarness,
) -> None:
    """Challenger slow 30 % against the champion's 1 %: rolled back at the first look
    (hold time irrelevant), pointer without a challenger, status ROLLED_BACK, and the
    audit entry names the guardrail, both arms' counts and the bound."""
    cp = control_plane
    rig = RolloutRig(cp)
    experiment_id, rollout_id = _started(cp)
    rig.front_counts(rollout_id, 0, HEALTHY_CHAMPION, ArmTally(requests=100, slow=30, users=50))
    rig.clock.advance(5)
    assert rig.look(experiment_id) == "rollback"
    pointer = cp.pointer()
    assert not pointer.HasField("rollout")
    record = rig.rollout(experiment_id).rollout
    assert record.status == records_pb2.ROLLOUT_STATUS_ROLLED_BACK
    assert record.ended_reason.startswith("latency_p99 breached")
    entry = cp.audit_entries()[-1]
    assert (entry.action, entry.actor) == ("rollout_rolled_back", DRIVER_ACTOR)
    assert entry.details["breached"] == "latency_p99"
    assert entry.details["latency_p99.challenger"] == "30/100"
    assert entry.details["latency_p99.champion"] == "20/2000"
    assert float(entry.details["latency_p99.lower_bound"]) > 0.02
    assert entry.details["latency_p99.margin"] == "0.02"
    assert "slow=30" in entry.details["challenger_counts"]
    assert rig.look(experiment_id) is None  # ended: no more looks


def test_a_sample_ratio_mismatch_stops_the_stage(control_plane: ControlPlaneHarness) -> None:
    """Half the users on the challenger of a 5 % stage: stopped, with the p-value."""
    cp = control_plane
    rig = RolloutRig(cp)
    experiment_id, rollout_id = _started(cp)
    rig.front_counts(
        rollout_id,
        0,
        ArmTally(requests=1000, slow=10, users=500),
        ArmTally(requests=1000, slow=10, users=500),
    )
    rig.clock.advance(5)
    assert rig.look(experiment_id) == "stop"
    assert not cp.pointer().HasField("rollout")
    record = rig.rollout(experiment_id).rollout
    assert record.status == records_pb2.ROLLOUT_STATUS_STOPPED
    assert record.ended_reason.startswith("sample-ratio mismatch")
    entry = cp.audit_entries()[-1]
    assert entry.action == "rollout_stopped"
    assert float(entry.details["srm_p_value"]) < 0.001
    assert entry.details["srm_method"] == SRM_METHOD
    assert SRM_METHOD in record.ended_reason
    assert "users=500" in entry.details["champion_counts"]


def test_a_held_healthy_rollout_advances_through_every_stage_and_completes(
    control_plane: ControlPlaneHarness,
) -> None:
    """0.05 held 35 s -> 0.25 held 35 s -> complete: the pointer names the challenger
    alone, the experiment is PROMOTED, the audit says `rollout_advance` then `promote`
    (staged); every look is kept."""
    cp = control_plane
    rig = RolloutRig(cp)
    experiment_id, rollout_id = _started(cp)
    challenger_version = cp.stub.GetExperiment(
        pb.GetExperimentRequest(experiment_id=experiment_id), metadata=cp.auth("alice")
    ).experiment.spec.challenger_version
    rig.front_counts(rollout_id, 0, HEALTHY_CHAMPION, HEALTHY_CHALLENGER)
    rig.clock.advance(10)
    assert rig.look(experiment_id) == "hold"  # held 10 s of 30
    rig.clock.advance(25)
    assert rig.look(experiment_id) == "advance"
    pointer = cp.pointer()
    assert (pointer.rollout.stage, pointer.rollout.share) == (1, 0.25)
    assert pointer.rollout.rollout_id == rollout_id
    assert cp.audit_entries()[-1].action == "rollout_advance"
    rig.clock.advance(35)
    assert rig.look(experiment_id) == "hold"  # stage 1 has no counts yet
    rig.front_counts(
        rollout_id,
        1,
        ArmTally(requests=1500, slow=15, users=750),
        ArmTally(requests=500, slow=5, users=250),
    )
    assert rig.look(experiment_id) == "complete"
    pointer = cp.pointer()
    assert pointer.serving_version == challenger_version
    assert not pointer.HasField("rollout")
    entry = cp.audit_entries()[-1]
    assert (entry.action, entry.details["staged"]) == ("promote", "true")
    assert entry.details["stages"] == "0.05,0.25,1"
    shown = rig.rollout(experiment_id)
    assert shown.rollout.status == records_pb2.ROLLOUT_STATUS_COMPLETED
    assert [look.decision for look in shown.looks] == ["hold", "advance", "hold", "complete"]
    assert [look.stage for look in shown.looks] == [0, 0, 1, 1]
    experiment = cp.stub.GetExperiment(
        pb.GetExperimentRequest(experiment_id=experiment_id), metadata=cp.auth("alice")
    ).experiment
    assert experiment.state == records_pb2.EXPERIMENT_STATE_PROMOTED
    assert cp.verify_audit().ok


def test_pause_stops_the_hold_clock_and_resume_continues_it(
    control_plane: ControlPlaneHarness,
) -> None:
    """Held 20 s, paused 100 s (no looks, pointer unchanged), resumed: 10 s more do not
    reach 30, 15 s more do."""
    cp = control_plane
    rig = RolloutRig(cp)
    experiment_id, rollout_id = _started(cp)
    rig.front_counts(rollout_id, 0, HEALTHY_CHAMPION, HEALTHY_CHALLENGER)
    before = cp.pointer()
    rig.clock.advance(20)

    async def pause(wired: Wired) -> records_pb2.RolloutRecord:
        return await wired.control.pause(experiment_id, "investigating", "olga")

    async def resume(wired: Wired) -> records_pb2.RolloutRecord:
        return await wired.control.resume(experiment_id, "olga")

    paused = rig.run(pause)
    assert paused.status == records_pb2.ROLLOUT_STATUS_PAUSED
    assert 19 <= paused.stage_held_before <= 21
    assert cp.audit_entries()[-1].action == "rollout_pause"
    rig.clock.advance(100)
    assert rig.look(experiment_id) is None  # paused: no look
    assert cp.pointer() == before
    rig.run(resume)
    assert cp.audit_entries()[-1].action == "rollout_resume"
    rig.clock.advance(5)
    assert rig.look(experiment_id) == "hold"
    rig.clock.advance(10)
    assert rig.look(experiment_id) == "advance"
    looks = rig.rollout(experiment_id).looks
    assert 24 <= looks[0].held_seconds <= 26
    assert 34 <= looks[1].held_seconds <= 36


def test_pause_and_resume_through_the_rpc(control_plane: ControlPlaneHarness) -> None:
    """Operators pause and resume (audited); pausing twice is refused and audited;
    experimenters may not pause."""
    cp = control_plane
    experiment_id, _ = _started(cp)
    request = pb.PauseRolloutRequest(experiment_id=experiment_id, reason="look at dashboards")
    paused = cp.stub.PauseRollout(request, metadata=cp.auth("olga")).rollout
    assert paused.status == records_pb2.ROLLOUT_STATUS_PAUSED
    error = rpc_error(cp.stub.PauseRollout, request, metadata=cp.auth("olga"))
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert (
        details_of(error)
        == f"the rollout of {experiment_id} is PAUSED, so there is nothing to pause"
    )
    assert cp.audit_entries()[-1].action == "rollout_pause_refused"
    error = rpc_error(cp.stub.PauseRollout, request, metadata=cp.auth("alice"))
    assert code_of(error) == grpc.StatusCode.PERMISSION_DENIED
    resumed = cp.stub.ResumeRollout(
        pb.ResumeRolloutRequest(experiment_id=experiment_id), metadata=cp.auth("olga")
    ).rollout
    assert resumed.status == records_pb2.ROLLOUT_STATUS_RUNNING


def test_two_drivers_looking_at_once_advance_only_once(
    control_plane: ControlPlaneHarness,
) -> None:
    """Both take the same look; the first advances, the second's transaction fails on
    the rollout record, so the stage moves once and one look is stored."""
    cp = control_plane
    rig = RolloutRig(cp)
    experiment_id, rollout_id = _started(cp)
    rig.front_counts(rollout_id, 0, HEALTHY_CHAMPION, HEALTHY_CHALLENGER)
    rig.clock.advance(35)

    async def race(wired: Wired) -> None:
        first = await wired.driver.prepare(experiment_id)
        second = await wired.driver.prepare(experiment_id)
        assert first is not None
        assert second is not None
        assert first.outcome.decision.value == second.outcome.decision.value == "advance"
        await wired.driver.apply(first)
        with pytest.raises(ConflictError):
            await wired.driver.apply(second)

    rig.run(race)
    shown = rig.rollout(experiment_id)
    assert shown.rollout.stage == 1
    assert len(shown.looks) == 1
    assert [e.action for e in cp.audit_entries()].count("rollout_advance") == 1


def test_a_rollback_during_a_rollout_stops_it_and_keeps_the_champion(
    control_plane: ControlPlaneHarness,
) -> None:
    """Rollback without a target drops the challenger (the champion stays), marks the
    rollout STOPPED in the same transaction and names it in the entry."""
    cp = control_plane
    before = cp.pointer()
    experiment_id, rollout_id = _started(cp)
    response = cp.stub.Rollback(
        pb.RollbackRequest(reason="pager went off"), metadata=cp.auth("olga")
    )
    assert response.pointer.serving_version == before.serving_version
    assert not response.pointer.HasField("rollout")
    entry = cp.audit_entries()[-1]
    assert (entry.action, entry.details["rollout_stopped"]) == ("rollback", rollout_id)
    record = RolloutRig(cp).rollout(experiment_id).rollout
    assert record.status == records_pb2.ROLLOUT_STATUS_STOPPED
    assert record.ended_reason == "rolled back by olga: pager went off"


def test_a_rollout_the_pointer_no_longer_names_is_stopped_at_its_next_look(
    control_plane: ControlPlaneHarness,
) -> None:
    """A record written over the rollout without closing it: the driver stops it."""
    cp = control_plane
    rig = RolloutRig(cp)
    experiment_id, _ = _started(cp)
    rig.write_champion_alone()
    rig.clock.advance(5)
    assert rig.look(experiment_id) is None
    record = rig.rollout(experiment_id).rollout
    assert record.status == records_pb2.ROLLOUT_STATUS_STOPPED
    assert "no longer names rollout" in record.ended_reason


def test_the_control_plane_looks_by_itself(control_plane: ControlPlaneHarness) -> None:
    """The server's own driver (a task of the server, ticking each second) looks at a
    stage due every 0.2 s: a forced sample-ratio mismatch is stopped with no test driver."""
    cp = control_plane
    rig = RolloutRig(cp)
    frequent = plan()
    frequent.look_interval_seconds = 0.2
    experiment_id, rollout_id = _started(cp, frequent)
    rig.front_counts(
        rollout_id,
        0,
        ArmTally(requests=1000, users=500),
        ArmTally(requests=1000, users=500),
    )
    deadline = time.monotonic() + 20
    while rig.rollout(experiment_id).rollout.status == records_pb2.ROLLOUT_STATUS_RUNNING:
        assert time.monotonic() < deadline, "the control plane never looked"
        time.sleep(0.2)
    shown = rig.rollout(experiment_id)
    assert shown.rollout.status == records_pb2.ROLLOUT_STATUS_STOPPED
    assert [look.decision for look in shown.looks] == ["stop"]
    assert not cp.pointer().HasField("rollout")


def test_a_damaged_rollout_record_does_not_stop_the_others_looks(
    control_plane: ControlPlaneHarness,
) -> None:
    """Garbage under another experiment's rollout key is left out; the running rollout,
    due after its look interval, is looked at."""
    cp = control_plane
    rig = RolloutRig(cp)
    experiment_id, rollout_id = _started(cp)
    cp.etcd_put(cp.keys.rollout("exp-garbage"), b"not a record")
    rig.front_counts(rollout_id, 0, HEALTHY_CHAMPION, HEALTHY_CHALLENGER)

    async def due(wired: Wired) -> dict[str, str]:
        return {k: v.value for k, v in (await wired.driver.look_at_due()).items()}

    assert rig.run(due) == {}  # the first look is due an hour after the stage started
    rig.clock.advance(3700)
    assert rig.run(due) == {experiment_id: "advance"}


def test_a_rolled_back_rollout_refuses_promote_and_shadow(
    control_plane: ControlPlaneHarness,
) -> None:
    """After the driver rolled the stage back, neither an unstaged Promote nor a shadow of
    the same experiment is allowed: the refusal says it was rolled back and that a new
    attempt needs a new experiment; the champion stays."""
    cp = control_plane
    rig = RolloutRig(cp)
    before = cp.pointer()
    experiment_id, rollout_id = _started(cp)
    rig.front_counts(rollout_id, 0, HEALTHY_CHAMPION, ArmTally(requests=100, slow=30, users=50))
    rig.clock.advance(5)
    assert rig.look(experiment_id) == "rollback"
    error = rpc_error(cp.promote, experiment_id)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert f"staged rollout {rollout_id} was rolled back: latency_p99 breached" in details_of(error)
    assert "a new attempt needs a new experiment" in details_of(error)
    assert cp.audit_entries()[-1].action == "promote_refused"
    error = rpc_error(
        cp.stub.StartShadow,
        pb.StartShadowRequest(experiment_id=experiment_id, share=0.2),
        metadata=cp.auth("olga"),
    )
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "was rolled back" in details_of(error)
    assert cp.pointer().serving_version == before.serving_version


def test_an_unstaged_promote_during_its_own_staged_rollout_is_refused(
    control_plane: ControlPlaneHarness,
) -> None:
    """While the experiment's rollout runs (or is paused), Promote without a plan would
    skip the stages: refused, naming the rollout and what to do; the stage stays."""
    cp = control_plane
    experiment_id, rollout_id = _started(cp)
    error = rpc_error(cp.promote, experiment_id)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert f"staged rollout {rollout_id} is running at stage 0" in details_of(error)
    cp.stub.PauseRollout(
        pb.PauseRolloutRequest(experiment_id=experiment_id), metadata=cp.auth("olga")
    )
    error = rpc_error(cp.promote, experiment_id)
    assert f"staged rollout {rollout_id} is paused at stage 0" in details_of(error)
    assert cp.pointer().rollout.rollout_id == rollout_id


def test_a_challenger_that_only_degrades_is_rolled_back_on_degraded_rate(
    control_plane: ControlPlaneHarness,
) -> None:
    """The plan names latency_p99 and error_rate only; the challenger answers every
    request degraded (never ranks, never errs): the degraded_rate guardrail the control
    plane added is breached and the stage rolls back; rollout_start listed it."""
    cp = control_plane
    rig = RolloutRig(cp)
    experiment_id, rollout_id = _started(cp)
    start = next(e for e in cp.audit_entries() if e.action == "rollout_start")
    assert "degraded_rate:0.01 alpha=0.05" in start.details["guardrails"]
    rig.front_counts(
        rollout_id,
        0,
        HEALTHY_CHAMPION,
        ArmTally(requests=200, errors=0, degraded=200, slow=0, users=50),
    )
    rig.clock.advance(5)
    assert rig.look(experiment_id) == "rollback"
    entry = cp.audit_entries()[-1]
    assert (entry.action, entry.details["breached"]) == ("rollout_rolled_back", "degraded_rate")


def _reject(cp: ControlPlaneHarness, experiment_id: str) -> None:
    cp.review(experiment_id, "erin", records_pb2.REVIEW_VERDICT_REJECT, "saw a regression")


def test_a_rejection_between_the_look_and_the_completion_stops_instead_of_promoting(
    control_plane: ControlPlaneHarness,
) -> None:
    """The look decides complete; a reviewer rejects before it is written: the champion
    stays, the rollout is STOPPED with the rejection as reason, audited, no promotion."""
    cp = control_plane
    rig = RolloutRig(cp)
    before = cp.pointer()
    experiment_id, rollout_id = _started(cp, plan(stages=(0.05, 1.0)))
    rig.front_counts(rollout_id, 0, HEALTHY_CHAMPION, HEALTHY_CHALLENGER)
    rig.clock.advance(35)

    async def race(wired: Wired) -> str:
        pending = await wired.driver.prepare(experiment_id)
        assert pending is not None
        assert pending.outcome.decision.value == "complete"
        _reject(cp, experiment_id)
        return (await wired.driver.apply(pending)).value

    assert rig.run(race) == "stop"
    pointer = cp.pointer()
    assert pointer.serving_version == before.serving_version
    assert not pointer.HasField("rollout")
    record = rig.rollout(experiment_id).rollout
    assert record.status == records_pb2.ROLLOUT_STATUS_STOPPED
    assert (
        record.ended_reason == f"experiment {experiment_id} was rejected by erin: saw a regression"
    )
    entry = cp.audit_entries()[-1]
    assert (entry.action, entry.actor) == ("rollout_stopped", DRIVER_ACTOR)
    assert "promote" not in [e.action for e in cp.audit_entries()]


def test_a_rejection_between_the_look_and_the_advance_fails_it_and_the_next_look_stops(
    control_plane: ControlPlaneHarness,
) -> None:
    """The advance's transaction guards on no review after the look's reading: a
    rejection in between fails it (the stage stays), and the next look stops the rollout."""
    cp = control_plane
    rig = RolloutRig(cp)
    experiment_id, rollout_id = _started(cp)
    rig.front_counts(rollout_id, 0, HEALTHY_CHAMPION, HEALTHY_CHALLENGER)
    rig.clock.advance(35)

    async def race(wired: Wired) -> None:
        pending = await wired.driver.prepare(experiment_id)
        assert pending is not None
        assert pending.outcome.decision.value == "advance"
        _reject(cp, experiment_id)
        with pytest.raises(ConflictError):
            await wired.driver.apply(pending)

    rig.run(race)
    assert cp.pointer().rollout.stage == 0
    assert rig.look(experiment_id) is None
    record = rig.rollout(experiment_id).rollout
    assert record.status == records_pb2.ROLLOUT_STATUS_STOPPED
    assert "rejected by erin" in record.ended_reason
    assert not cp.pointer().HasField("rollout")


def test_promoting_another_experiment_during_a_staged_rollout_is_refused(
    control_plane: ControlPlaneHarness,
) -> None:
    """An unstaged Promote of another experiment would end the rollout without closing
    its record: refused, audited, with what to do; the rollout keeps running."""
    cp = control_plane
    experiment_id, rollout_id = _started(cp)
    other = cp.approved_experiment(cp.challenger_b)
    error = rpc_error(cp.promote, other.experiment_id)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert f"experiment {experiment_id}'s staged rollout {rollout_id} is in progress" in (
        details_of(error)
    )
    assert "roll back or let the rollout finish" in details_of(error)
    assert cp.audit_entries()[-1].action == "promote_refused"
    assert cp.pointer().rollout.rollout_id == rollout_id
    assert RolloutRig(cp).rollout(experiment_id).rollout.status == (
        records_pb2.ROLLOUT_STATUS_RUNNING
    )


def _pause(cp: ControlPlaneHarness, experiment_id: str) -> None:
    cp.stub.PauseRollout(
        pb.PauseRolloutRequest(experiment_id=experiment_id), metadata=cp.auth("olga")
    )


def test_a_paused_rollout_whose_experiment_is_rejected_is_stopped(
    control_plane: ControlPlaneHarness,
) -> None:
    """Paused rollouts get no look, but the driver's tick still stops one whose
    experiment a reviewer rejected: champion alone, STOPPED, audited."""
    cp = control_plane
    rig = RolloutRig(cp)
    experiment_id, _ = _started(cp)
    _pause(cp, experiment_id)
    _reject(cp, experiment_id)

    async def due(wired: Wired) -> dict[str, str]:
        return {k: v.value for k, v in (await wired.driver.look_at_due()).items()}

    assert rig.run(due) == {}
    record = rig.rollout(experiment_id).rollout
    assert record.status == records_pb2.ROLLOUT_STATUS_STOPPED
    assert "rejected by erin" in record.ended_reason
    assert not cp.pointer().HasField("rollout")
    assert cp.audit_entries()[-1].action == "rollout_stopped"


def test_a_paused_rollout_the_pointer_no_longer_names_is_stopped(
    control_plane: ControlPlaneHarness,
) -> None:
    """A paused rollout written over without being closed is stopped at the next tick."""
    cp = control_plane
    rig = RolloutRig(cp)
    experiment_id, rollout_id = _started(cp)
    _pause(cp, experiment_id)
    rig.write_champion_alone()

    async def tick(wired: Wired) -> None:
        await wired.driver.look_at_due()

    rig.run(tick)
    record = rig.rollout(experiment_id).rollout
    assert record.status == records_pb2.ROLLOUT_STATUS_STOPPED
    assert f"no longer names rollout {rollout_id}" in record.ended_reason
    assert cp.audit_entries()[-1].action == "rollout_stopped"
