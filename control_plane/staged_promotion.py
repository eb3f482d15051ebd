"""Promote with a plan: the challenger answers a growing share of users, stage by stage.

Starting checks what an unstaged Promote checks (`promotable.promotable`), the plan
(`rollout_plan.validated_plan`) and the plan's shadow-diff bounds against the report
attached to the experiment (`shadow_bounds`). Then one guarded transaction writes the
RolloutRecord (RUNNING, stage 0, the completed plan), a pointer record that keeps the
champion and names the challenger STAGED at the first stage's share (which ends a
shadow), and the audit entry `rollout_start`. From there the rollout driver
(`rollout_driver.py`) looks at the stage, advances it, completes the promotion or
rolls it back. A refusal is audited as an unstaged one is (`promote_refused`).

An experiment has at most one staged rollout: its record stays after it ends, with
every look, and a new attempt needs a new experiment (and so a new evaluation).
"""

from __future__ import annotations

import structlog

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.pointer_writer import PointerWriter
from control_plane.promotable import promotable
from control_plane.promotion import REFUSAL_SUBJECT
from control_plane.refusals import audited
from control_plane.rollout_plan import describe_guardrail, latency_threshold_ms, validated_plan
from control_plane.rollout_pointer import (
    challenger_rollout,
    champion_with,
    mode_name,
    new_rollout_id,
    rollout_in_the_way,
    rollout_of,
)
from control_plane.shadow_bounds import shadow_bounds_refusal
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError
from control_plane.store.records import RecordReader
from control_plane.store.rollout_records import RolloutReader
from control_plane.store.txn import KeyAt, Put
from control_plane.validation import require
from recmesh.api.controlplane.v1 import control_plane_pb2, records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import FailedPreconditionError, RecmeshError

log = structlog.get_logger("recmesh.control_plane.staged_promotion")

_REREADS = 5


def stages_text(plan: records_pb2.RolloutPlan) -> str:
    return ",".join(f"{share:g}" for share in plan.stages)


class StagedPromoter:
    def __init__(
        self,
        keys: KeySchema,
        records: RecordReader,
        rollouts: RolloutReader,
        audit: AuditLog,
        clock: Clock,
        writer: PointerWriter,
    ) -> None:
        self._keys = keys
        self._records = records
        self._rollouts = rollouts
        self._audit = audit
        self._clock = clock
        self._writer = writer

    async def start(
        self, experiment_id: str, plan: records_pb2.RolloutPlan, actor: str
    ) -> control_plane_pb2.PromoteResponse:
        """Starts the rollout; a refusal, whatever its reason, is audited first."""
        try:
            return await self._start(experiment_id, plan, actor)
        except RecmeshError as exc:
            raise await audited(
                self._audit,
                exc,
                actor=actor,
                action="promote_refused",
                subject=experiment_id or REFUSAL_SUBJECT,
                details={"staged": "true", "stages": stages_text(plan)},
            ) from None

    async def _start(
        self, experiment_id: str, requested: records_pb2.RolloutPlan, actor: str
    ) -> control_plane_pb2.PromoteResponse:
        require(experiment_id, "experiment_id")
        plan = validated_plan(requested)
        keys = self._keys
        for _ in range(_REREADS):
            checked = await promotable(self._records, experiment_id)
            champion = checked.champion
            running = rollout_of(champion)
            in_the_way = rollout_in_the_way(champion, experiment_id)
            if in_the_way is not None:
                raise FailedPreconditionError(in_the_way)
            earlier = await self._rollouts.rollout(experiment_id)
            if earlier is not None:
                status = records_pb2.RolloutStatus.Name(earlier.record.status)
                raise FailedPreconditionError(
                    f"experiment {experiment_id} already had a staged rollout "
                    f"({earlier.record.rollout_id}, {status}); create a new experiment to try again"
                )
            report = await self._rollouts.shadow_report(experiment_id)
            refusal = shadow_bounds_refusal(
                plan.shadow_bounds,
                None if report is None else report.summary,
                experiment_id,
                checked.challenger.version_id,
            )
            if refusal is not None:
                raise FailedPreconditionError(refusal)
            now = timestamp(self._clock)
            rollout = challenger_rollout(
                experiment_id,
                checked.challenger,
                records_pb2.ROLLOUT_MODE_STAGED,
                plan.stages[0],
                rollout_id=new_rollout_id(),
                latency_threshold_ms=latency_threshold_ms(plan),
            )
            record = records_pb2.RolloutRecord(
                rollout_id=rollout.rollout_id,
                experiment_id=experiment_id,
                plan=plan,
                status=records_pb2.ROLLOUT_STATUS_RUNNING,
                stage=0,
                started_by=actor,
                started_at=now,
                stage_running_since=now,
            )
            pointer = champion_with(
                champion,
                rollout,
                actor=actor,
                clock=self._clock,
                reason=f"staged promotion of experiment {experiment_id}: stage 0 at "
                f"{plan.stages[0]:g}",
            )
            details = {
                "rollout_id": rollout.rollout_id,
                "champion": champion.serving_version,
                "challenger": rollout.challenger_version,
                "stages": stages_text(plan),
                "hold_seconds": f"{plan.hold_seconds:g}",
                "min_requests_per_arm": str(plan.min_requests_per_arm),
                "look_interval_seconds": f"{plan.look_interval_seconds:g}",
                "srm_alpha": f"{plan.srm_alpha:g}",
                "srm_method": plan.srm_method,
                "guardrails": "; ".join(describe_guardrail(g) for g in plan.guardrails),
                "shadow_bounds": "; ".join(
                    f"{b.statistic} {b.side} {b.value:g}" for b in plan.shadow_bounds
                ),
            }
            if running is not None:
                details["ended_" + mode_name(running.mode)] = running.rollout_id
            # The checks passed, so the experiment has no rollout record yet (one that
            # completed came with a promotion record): its guard holds it absent.
            guards = [
                *checked.unchanged(keys),
                KeyAt(
                    keys.shadow_report(experiment_id), 0 if report is None else report.mod_revision
                ),
            ]
            try:
                written = await self._writer.move(
                    AuditDraft(
                        actor=actor, action="rollout_start", subject=experiment_id, details=details
                    ),
                    pointer,
                    replaces=champion,
                    replaces_revision=champion.revision,
                    guards=guards,
                    puts=[Put(keys.rollout(experiment_id), encode(record))],
                    evaluation_sha256=champion.evaluation_sha256,
                )
            except ConflictError:
                continue  # something moved since the checks: check again
            log.info(
                "rollout_started",
                experiment_id=experiment_id,
                rollout_id=rollout.rollout_id,
                stages=details["stages"],
                revision=written.revision,
                actor=actor,
            )
            return control_plane_pb2.PromoteResponse(
                pointer=written, previous_version=champion.serving_version, rollout=record
            )
        raise FailedPreconditionError(
            f"the records of {experiment_id} kept changing while starting the rollout; "
            "promote again"
        )
