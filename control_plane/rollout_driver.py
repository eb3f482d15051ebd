"""The rollout driver: looks at every running stage, then holds, advances, completes or rolls back.

A background task of the control plane server (`run`). Every tick it reads the
running rollouts; a rollout whose last look (or stage start, or resumption) is
look_interval_seconds old gets a look: the fronts' counts of the stage summed
(`rollout_records.RolloutReader.front_counts`), judged by `rollout_look.take_look`,
and the look stored under `rollout_look(experiment, n)` (every look is kept).

Each decision is one guarded transaction comparing the rollout record's
mod_revision (and, when the pointer moves, the pointer's), so two control planes
looking at once never both advance a stage: the second one's transaction fails
and its look is dropped (`ConflictError`, logged). What each writes:

- hold: the look and the record (its look count);
- advance: also a pointer record at the next stage's share, audit `rollout_advance`;
- complete: the pointer to the challenger alone and the promotion record, as an
  unstaged Promote writes them, audit `promote` with `staged: true`;
- rollback: the champion alone, status ROLLED_BACK, audit `rollout_rolled_back`
  naming the breached guardrail, both arms' counts and the bound;
- stop: the champion alone, status STOPPED, audit `rollout_stopped` with the counts
  and the p-value of the sample-ratio check.

A rollout, running or paused, whose challenger the pointer no longer names (a
record written over it by a control plane that did not refuse: Promote and refresh
refuse while a rollout is active) or whose experiment a reviewer rejected is
stopped without a look, audited (`rollout_stopped`); while the pointer is damaged,
nothing is looked at. An advance and a completion guard on no review created after
the reading they checked for a rejection (the completion reads the reviews again for
its approvals and stops the rollout when that reading holds a rejection), so a
rejection landing between the look and the write never advances or promotes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.config import DEFAULT_ROLLOUT_TICK_SECONDS
from control_plane.experiment_state import ExperimentRecords, approvers, first_rejection
from control_plane.pointer_writer import PointerWriter, record_sha256
from control_plane.rollout_look import Decision, LookOutcome, stage_share, take_look
from control_plane.rollout_pointer import champion_with, rollout_of
from control_plane.staged_promotion import stages_text
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.records import RecordReader
from control_plane.store.rollout_records import RolloutReader, StoredRollout
from control_plane.store.txn import Guard, KeyAbsent, KeyAt, NothingCreatedAfter, Put
from recmesh.api.controlplane.v1 import control_plane_pb2, records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rollout.arm_counts import CHALLENGER, CHAMPION, sum_counts
from recmesh.rpc.errors import RecmeshError

log = structlog.get_logger("recmesh.control_plane.rollout_driver")

#: The actor of the audit entries the driver writes on its own.
DRIVER_ACTOR = "control-plane/rollout-driver"

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class PendingLook:
    """A look taken but not written: what it read and what it decided."""

    rollout: StoredRollout
    pointer: records_pb2.ServingPointer
    outcome: LookOutcome
    #: The experiment's records the look read (no rejection among its reviews): a
    #: decision that moves the pointer guards on no review created after their revision.
    experiment: ExperimentRecords


class RolloutDriver:
    def __init__(
        self,
        keys: KeySchema,
        kv: EtcdKV,
        records: RecordReader,
        rollouts: RolloutReader,
        audit: AuditLog,
        writer: PointerWriter,
        clock: Clock,
        *,
        sleep: Sleep = asyncio.sleep,
        tick_seconds: float = DEFAULT_ROLLOUT_TICK_SECONDS,
    ) -> None:
        self._keys = keys
        self._kv = kv
        self._records = records
        self._rollouts = rollouts
        self._audit = audit
        self._writer = writer
        self._clock = clock
        self._sleep = sleep
        self._tick_seconds = tick_seconds

    async def run(self) -> None:
        """Looks at due rollouts every tick until cancelled. A failed tick (etcd away, a
        damaged record) is logged and the next tick tries again."""
        while True:
            try:
                await self.look_at_due()
            except RecmeshError as exc:
                log.warning("rollout_tick_failed", error=str(exc), code=exc.code.name)
            except Exception:
                # A programmer error: say so loudly; the task ends with it.
                log.exception("rollout_driver_failed")
                raise
            await self._sleep(self._tick_seconds)

    async def look_at_due(self) -> dict[str, Decision]:
        """Looks at every running rollout that is due; experiment id -> decision written."""
        done: dict[str, Decision] = {}
        for stored in await self._rollouts.active():
            record = stored.record
            try:
                if record.status == records_pb2.ROLLOUT_STATUS_PAUSED:
                    # No look while paused, but a rejection or a pointer that no longer
                    # names it still ends it: nothing else would ever close its record.
                    await self.check_paused(record.experiment_id)
                    continue
                if not await self._due(record):
                    continue
                decision = await self.look(record.experiment_id)
            except RecmeshError as exc:
                # One rollout's damaged record must not keep the others from their looks.
                log.warning(
                    "look_failed",
                    experiment_id=record.experiment_id,
                    error=str(exc),
                    code=exc.code.name,
                )
                continue
            if decision is not None:
                done[record.experiment_id] = decision
        return done

    async def look(self, experiment_id: str) -> Decision | None:
        """One look now, due or not, written; None when the rollout is not running or
        another control plane wrote first."""
        pending = await self.prepare(experiment_id)
        if pending is None:
            return None
        try:
            return await self.apply(pending)
        except ConflictError as exc:
            log.info("look_dropped", experiment_id=experiment_id, reason=str(exc))
            return None

    async def prepare(self, experiment_id: str) -> PendingLook | None:
        """The look at the running rollout's stage, not yet written (None: not running, or
        ended here because the pointer no longer names it or a reviewer rejected it)."""
        stored = await self._rollouts.rollout(experiment_id)
        if stored is None or stored.record.status != records_pb2.ROLLOUT_STATUS_RUNNING:
            return None
        record = stored.record
        experiment = await self._records.experiment(experiment_id)
        pointer = experiment.pointer
        if pointer is None:
            # Damaged (or unset): serving holds the last signed record, which may still
            # name the rollout; nothing is decided until a rollback repairs the pointer.
            log.warning("look_skipped", experiment_id=experiment_id, reason="pointer damaged")
            return None
        if await self._ended_elsewhere(stored, experiment, pointer):
            return None
        counts = await self._rollouts.front_counts(record.rollout_id, record.stage)
        outcome = take_look(record, sum_counts(counts), self._clock())
        return PendingLook(stored, pointer, outcome, experiment)

    async def check_paused(self, experiment_id: str) -> bool:
        """Stops the paused rollout (audited, `rollout_stopped`) when its experiment was
        rejected or the pointer no longer names it; whether it did."""
        stored = await self._rollouts.rollout(experiment_id)
        if stored is None or stored.record.status != records_pb2.ROLLOUT_STATUS_PAUSED:
            return False
        experiment = await self._records.experiment(experiment_id)
        pointer = experiment.pointer
        # A damaged pointer decides nothing, as for a running rollout.
        return pointer is not None and await self._ended_elsewhere(stored, experiment, pointer)

    async def _ended_elsewhere(
        self,
        stored: StoredRollout,
        experiment: ExperimentRecords,
        pointer: records_pb2.ServingPointer,
    ) -> bool:
        """Stops the rollout without a look when the (verified) pointer no longer names it
        or a reviewer rejected the experiment; whether it did."""
        record = stored.record
        experiment_id = record.experiment_id
        named = rollout_of(pointer)
        if named is None or named.rollout_id != record.rollout_id:
            await self._end_unlooked(
                stored,
                f"the pointer no longer names rollout {record.rollout_id} (now "
                f"{pointer.serving_version} alone or with another challenger)",
            )
            return True
        rejection = first_rejection(experiment.reviews)
        if rejection is not None:
            await self._end_unlooked(
                stored,
                f"experiment {experiment_id} was rejected by {rejection.author}: "
                f"{rejection.comment}",
                pointer=pointer,
            )
            return True
        return False

    async def apply(self, pending: PendingLook) -> Decision:
        """Writes the look and its decision in one guarded transaction; ConflictError when
        the rollout record (or the pointer) changed since it was read."""
        keys = self._keys
        record = records_pb2.RolloutRecord()
        record.CopyFrom(pending.rollout.record)
        experiment_id = record.experiment_id
        outcome = pending.outcome
        look_key = keys.rollout_look(experiment_id, record.looks)
        record.looks += 1
        guards: list[Guard] = [
            KeyAt(keys.rollout(experiment_id), pending.rollout.mod_revision),
            KeyAbsent(look_key),
        ]
        look_put = Put(look_key, encode(outcome.look))
        decision = outcome.decision
        if decision is Decision.HOLD:
            await self._kv.commit(
                guards, [look_put, Put(keys.rollout(experiment_id), encode(record))]
            )
        elif decision is Decision.ADVANCE:
            await self._advance(pending, record, guards, look_put)
        elif decision is Decision.COMPLETE:
            if not await self._complete(pending, record, guards, look_put):
                return Decision.STOP
        else:
            await self._end(pending, record, guards, look_put)
        log.info(
            "rollout_look",
            experiment_id=experiment_id,
            rollout_id=record.rollout_id,
            stage=outcome.look.stage,
            decision=decision.value,
            reason=outcome.look.reason,
        )
        return decision

    async def _due(self, record: records_pb2.RolloutRecord) -> bool:
        now = self._clock()
        last = await self._rollouts.last_look(record.experiment_id, record.looks)
        since = record.stage_running_since.ToDatetime(tzinfo=now.tzinfo)
        if last is not None:
            since = max(since, last.at.ToDatetime(tzinfo=now.tzinfo))
        return now >= since + timedelta(seconds=record.plan.look_interval_seconds)

    async def _advance(
        self,
        pending: PendingLook,
        record: records_pb2.RolloutRecord,
        guards: list[Guard],
        look_put: Put,
    ) -> None:
        current = pending.pointer
        record.stage += 1
        record.stage_running_since.CopyFrom(timestamp(self._clock))
        record.stage_held_before = 0.0
        rollout = records_pb2.Rollout()
        rollout.CopyFrom(current.rollout)
        rollout.stage = record.stage
        rollout.share = stage_share(record)
        look = pending.outcome.look
        draft = AuditDraft(
            actor=DRIVER_ACTOR,
            action="rollout_advance",
            subject=record.experiment_id,
            details={
                "rollout_id": record.rollout_id,
                "from_stage": str(look.stage),
                "to_stage": str(record.stage),
                "share": f"{rollout.share:g}",
                "held_seconds": f"{look.held_seconds:.0f}",
                **_arm_details(look),
                "guardrails": "; ".join(f"{g.name} {g.status}" for g in look.guardrails),
                "reason": look.reason,
            },
        )
        # A reviewer's rejection after the look read the reviews fails the transaction;
        # the next look sees it and stops the rollout.
        reviews = NothingCreatedAfter(
            self._keys.reviews_prefix(record.experiment_id), pending.experiment.revision
        )
        await self._keep_champion(
            draft,
            current,
            rollout,
            f"staged promotion of experiment {record.experiment_id}: stage {record.stage} at "
            f"{rollout.share:g}",
            [*guards, reviews],
            [look_put, Put(self._keys.rollout(record.experiment_id), encode(record))],
        )

    async def _keep_champion(
        self,
        draft: AuditDraft,
        current: records_pb2.ServingPointer,
        rollout: records_pb2.Rollout | None,
        reason: str,
        guards: list[Guard],
        puts: list[Put],
    ) -> None:
        """Moves the pointer to a record keeping `current`'s champion, with `rollout` beside
        it (None: alone), guarded also on the pointer being `current`."""
        await self._writer.move(
            draft,
            champion_with(current, rollout, actor=DRIVER_ACTOR, clock=self._clock, reason=reason),
            replaces=current,
            replaces_revision=current.revision,
            guards=[*guards, KeyAt(self._keys.pointer, current.revision)],
            puts=puts,
            evaluation_sha256=current.evaluation_sha256,
        )

    async def _complete(
        self,
        pending: PendingLook,
        record: records_pb2.RolloutRecord,
        guards: list[Guard],
        look_put: Put,
    ) -> bool:
        """Promotes the challenger; False when the experiment's records, read again for the
        approvals, hold a rejection: then the rollout is stopped instead (audited)."""
        keys = self._keys
        current = pending.pointer
        experiment_id = record.experiment_id
        experiment = await self._records.experiment(experiment_id)
        rejection = first_rejection(experiment.reviews)
        if rejection is not None:
            # The transaction below guards on no review after this reading, so a
            # rejection in it must be acted on here, not promoted over. A conflict
            # reaches the caller as any other: the look is dropped, not reported done.
            await self._stop_unlooked(
                pending.rollout,
                f"experiment {experiment_id} was rejected by {rejection.author}: "
                f"{rejection.comment}",
                pointer=current,
            )
            return False
        evaluation = experiment.evaluation
        assert evaluation is not None  # a rollout starts only after a PASS evaluation
        look = pending.outcome.look
        record.status = records_pb2.ROLLOUT_STATUS_COMPLETED
        record.ended_reason = look.reason
        pointer = records_pb2.ServingPointer(
            serving_version=current.rollout.challenger_version,
            manifest_sha256=current.rollout.challenger_manifest_sha256,
            experiment_id=experiment_id,
            set_by=DRIVER_ACTOR,
            set_at=timestamp(self._clock),
            reason=f"promoted experiment {experiment_id} (staged: {stages_text(record.plan)})",
        )
        promotion = control_plane_pb2.PromoteResponse(
            pointer=pointer, previous_version=current.serving_version, rollout=record
        )
        draft = AuditDraft(
            actor=DRIVER_ACTOR,
            action="promote",
            subject=experiment_id,
            details={
                "from": current.serving_version,
                "to": pointer.serving_version,
                "staged": "true",
                "rollout_id": record.rollout_id,
                "stages": stages_text(record.plan),
                "started_by": record.started_by,
                "evaluated_pointer_revision": str(evaluation.champion_pointer_revision),
                "approved_by": ",".join(approvers(experiment.reviews)),
                **_arm_details(look),
                "reason": look.reason,
            },
        )
        await self._writer.move(
            draft,
            pointer,
            replaces=current,
            replaces_revision=current.revision,
            guards=[
                *guards,
                KeyAt(keys.pointer, current.revision),
                KeyAbsent(keys.promotion(experiment_id)),
                NothingCreatedAfter(keys.reviews_prefix(experiment_id), experiment.revision),
            ],
            puts=[
                look_put,
                Put(keys.rollout(experiment_id), encode(record)),
                Put(keys.promotion(experiment_id), encode(promotion)),
            ],
            evaluation_sha256=record_sha256(encode(evaluation)),
        )
        return True

    async def _end(
        self,
        pending: PendingLook,
        record: records_pb2.RolloutRecord,
        guards: list[Guard],
        look_put: Put,
    ) -> None:
        """Rollback (a guardrail breached) or stop (a sample-ratio mismatch): the champion
        alone again."""
        outcome = pending.outcome
        look = outcome.look
        details = {
            "rollout_id": record.rollout_id,
            "stage": str(look.stage),
            "share": f"{stage_share(record):g}",
            **_arm_details(look),
        }
        if outcome.decision is Decision.ROLLBACK:
            record.status = records_pb2.ROLLOUT_STATUS_ROLLED_BACK
            action = "rollout_rolled_back"
            breached = outcome.breached
            details["breached"] = ",".join(e.plan.name for e in breached)
            for evaluation in breached:
                name = evaluation.plan.name
                bound = evaluation.difference_lower_bound
                details[f"{name}.challenger"] = (
                    f"{evaluation.challenger.events}/{evaluation.challenger.requests}"
                )
                details[f"{name}.champion"] = (
                    f"{evaluation.champion.events}/{evaluation.champion.requests}"
                )
                details[f"{name}.lower_bound"] = "" if bound is None else f"{bound:.6f}"
                details[f"{name}.margin"] = f"{evaluation.plan.margin:g}"
                details[f"{name}.alpha"] = f"{evaluation.plan.alpha:g}"
                details[f"{name}.method"] = evaluation.plan.method
        else:
            record.status = records_pb2.ROLLOUT_STATUS_STOPPED
            action = "rollout_stopped"
            details["srm_p_value"] = f"{outcome.srm.p_value:.3g}"
            details["srm_alpha"] = f"{outcome.srm.alpha:g}"
            details["srm_method"] = outcome.srm.method
        details["reason"] = look.reason
        record.ended_reason = look.reason
        await self._keep_champion(
            AuditDraft(
                actor=DRIVER_ACTOR, action=action, subject=record.experiment_id, details=details
            ),
            pending.pointer,
            None,
            f"{action.replace('_', ' ')}: {look.reason}",
            guards,
            [look_put, Put(self._keys.rollout(record.experiment_id), encode(record))],
        )

    async def _end_unlooked(
        self,
        stored: StoredRollout,
        reason: str,
        *,
        pointer: records_pb2.ServingPointer | None = None,
    ) -> None:
        """`_stop_unlooked`, its transaction dropped (logged) when something changed: the
        next tick decides again on fresh records."""
        try:
            await self._stop_unlooked(stored, reason, pointer=pointer)
        except ConflictError as exc:
            log.info("stop_dropped", experiment_id=stored.record.experiment_id, reason=str(exc))

    async def _stop_unlooked(
        self,
        stored: StoredRollout,
        reason: str,
        *,
        pointer: records_pb2.ServingPointer | None = None,
    ) -> None:
        """Stops the rollout without a look; with `pointer` (still naming it) also drops
        the challenger from the pointer. ConflictError when the rollout record (or the
        pointer) changed since they were read."""
        record = records_pb2.RolloutRecord()
        record.CopyFrom(stored.record)
        record.status = records_pb2.ROLLOUT_STATUS_STOPPED
        record.ended_reason = reason
        keys = self._keys
        draft = AuditDraft(
            actor=DRIVER_ACTOR,
            action="rollout_stopped",
            subject=record.experiment_id,
            details={"rollout_id": record.rollout_id, "stage": str(record.stage), "reason": reason},
        )
        guards: list[Guard] = [KeyAt(keys.rollout(record.experiment_id), stored.mod_revision)]
        puts = [Put(keys.rollout(record.experiment_id), encode(record))]
        if pointer is None:
            await self._audit.commit(draft, guards, puts)
        else:
            await self._keep_champion(draft, pointer, None, reason, guards, puts)
        log.info("rollout_stopped", experiment_id=record.experiment_id, reason=reason)


def _arm_details(look: records_pb2.RolloutLook) -> dict[str, str]:
    """Both arms' counts as audit details: requests, errors, degraded, slow, users."""
    details = {}
    for arm, measured in ((CHAMPION, look.champion), (CHALLENGER, look.challenger)):
        details[f"{arm}_counts"] = (
            f"requests={measured.requests} errors={measured.errors} "
            f"degraded={measured.degraded} slow={measured.slow} users={measured.users}"
        )
    return details
