"""One look at a running stage: the measurements, each guardrail's verdict, the decision.

Pure: the rollout record, both arms' counts summed over the fronts and the time in,
a RolloutLook and its decision out (`rollout_driver.py` reads and writes). The
decision, in this order:

1. rollback: a guardrail is BREACHED (its anytime-valid bound exceeds the margin);
2. stop: the stage's split of distinct users does not match its share (sample-ratio
   mismatch): every guardrail reads biased arms, so none is trusted either way;
3. advance (or complete, when the next stage is every user): the stage was held
   (running) at least hold_seconds, every guardrail is HOLDING (NOT_ENOUGH_DATA does
   not count) and both arms have at least min_requests_per_arm requests;
4. hold otherwise, saying what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from google.protobuf.timestamp_pb2 import Timestamp

from control_plane.rollout_plan import GUARDRAIL_KINDS, guardrail_plan
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rollout.arm_counts import CHALLENGER, CHAMPION, ArmTally
from recmesh.rollout.guardrails import (
    ArmCounts,
    GuardrailEvaluation,
    GuardrailKind,
    GuardrailStatus,
    evaluate_guardrail,
)
from recmesh.rollout.srm import SampleRatioCheck, check_sample_ratio


class Decision(StrEnum):
    HOLD = "hold"
    ADVANCE = "advance"
    COMPLETE = "complete"
    ROLLBACK = "rollback"
    STOP = "stop"


@dataclass(frozen=True)
class LookOutcome:
    """The look to store, its decision, and what it was decided on."""

    look: records_pb2.RolloutLook
    decision: Decision
    evaluations: tuple[GuardrailEvaluation, ...]
    srm: SampleRatioCheck

    @property
    def breached(self) -> tuple[GuardrailEvaluation, ...]:
        return tuple(e for e in self.evaluations if e.status is GuardrailStatus.BREACHED)


def held_seconds(record: records_pb2.RolloutRecord, now: datetime) -> float:
    """How long the current stage has run: before its last pause, plus since it last
    started running (nothing while paused)."""
    held = record.stage_held_before
    if record.status == records_pb2.ROLLOUT_STATUS_RUNNING:
        since = record.stage_running_since.ToDatetime(tzinfo=now.tzinfo)
        held += max(0.0, (now - since).total_seconds())
    return held


def stage_share(record: records_pb2.RolloutRecord) -> float:
    return record.plan.stages[record.stage]


def take_look(
    record: records_pb2.RolloutRecord, arms: dict[str, ArmTally], now: datetime
) -> LookOutcome:
    """The look at the record's current stage, from both arms' summed counts."""
    plan = record.plan
    champion, challenger = arms[CHAMPION], arms[CHALLENGER]
    evaluations = tuple(
        evaluate_guardrail(
            guardrail_plan(guardrail, plan.min_requests_per_arm),
            _events(guardrail.name, challenger),
            _events(guardrail.name, champion),
        )
        for guardrail in plan.guardrails
    )
    share = stage_share(record)
    srm = check_sample_ratio(
        share, champion.users, challenger.users, plan.srm_alpha, unit="distinct users"
    )
    held = held_seconds(record, now)
    decision, reason = _decide(record, evaluations, srm, champion, challenger, held)
    at = Timestamp()
    at.FromDatetime(now)
    look = records_pb2.RolloutLook(
        stage=record.stage,
        at=at,
        champion=_measurement(champion),
        challenger=_measurement(challenger),
        guardrails=[_guardrail_look(e) for e in evaluations],
        srm_p_value=srm.p_value,
        srm_mismatch=srm.mismatch,
        decision=decision.value,
        reason=reason,
        held_seconds=held,
    )
    return LookOutcome(look, decision, evaluations, srm)


def _decide(
    record: records_pb2.RolloutRecord,
    evaluations: tuple[GuardrailEvaluation, ...],
    srm: SampleRatioCheck,
    champion: ArmTally,
    challenger: ArmTally,
    held: float,
) -> tuple[Decision, str]:
    plan = record.plan
    breached = [e for e in evaluations if e.status is GuardrailStatus.BREACHED]
    if breached:
        return Decision.ROLLBACK, "; ".join(e.message for e in breached)
    if srm.mismatch:
        return Decision.STOP, srm.message
    missing = []
    if held < plan.hold_seconds:
        missing.append(f"held {held:.0f} s of {plan.hold_seconds:g} s")
    fewest = min(champion.requests, challenger.requests)
    if fewest < plan.min_requests_per_arm:
        missing.append(
            f"requests per arm: champion {champion.requests}, challenger "
            f"{challenger.requests}, each needs {plan.min_requests_per_arm}"
        )
    waiting = [e.plan.name for e in evaluations if e.status is not GuardrailStatus.HOLDING]
    if waiting:
        missing.append(f"not enough data for {', '.join(waiting)}")
    if missing:
        return Decision.HOLD, "; ".join(missing)
    nxt = record.stage + 1
    held_text = f"stage {record.stage} ({stage_share(record):g}) held {held:.0f} s"
    if plan.stages[nxt] >= 1.0:
        return (
            Decision.COMPLETE,
            f"{held_text} with every guardrail holding: the challenger serves everyone",
        )
    return (
        Decision.ADVANCE,
        f"{held_text} with every guardrail holding: stage {nxt} at {plan.stages[nxt]:g}",
    )


def _events(name: str, arm: ArmTally) -> ArmCounts:
    if GUARDRAIL_KINDS[name] is GuardrailKind.LATENCY_EXCEEDANCE:
        return ArmCounts(arm.requests, arm.slow)
    return ArmCounts(arm.requests, arm.errors if name == "error_rate" else arm.degraded)


def _measurement(arm: ArmTally) -> records_pb2.ArmMeasurement:
    return records_pb2.ArmMeasurement(
        requests=arm.requests,
        errors=arm.errors,
        degraded=arm.degraded,
        slow=arm.slow,
        users=arm.users,
    )


def _guardrail_look(evaluation: GuardrailEvaluation) -> records_pb2.GuardrailLook:
    look = records_pb2.GuardrailLook(
        name=evaluation.plan.name,
        status=evaluation.status.value,
        message=evaluation.message,
    )
    if evaluation.difference_lower_bound is not None:
        look.difference_lower_bound = evaluation.difference_lower_bound
    return look
