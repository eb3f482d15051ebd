"""GetRollout, PauseRollout, ResumeRollout: an operator's hand on a running staged rollout.

Pausing stops the looks and the hold clock (the seconds held so far are kept in
`stage_held_before`) but leaves the pointer as it is: the challenger keeps answering
the stage's share, so every user keeps the arm they had, and resuming does not
reshuffle anyone. Resuming starts the clock again from the time already held. Both
are audited (`rollout_pause`, `rollout_resume`), refusals too
(`rollout_pause_refused`, `rollout_resume_refused`).
"""

from __future__ import annotations

import structlog

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.refusals import audited
from control_plane.rollout_look import held_seconds
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError
from control_plane.store.rollout_records import RolloutReader, StoredRollout
from control_plane.store.txn import KeyAt, Put
from control_plane.validation import require
from recmesh.api.controlplane.v1 import control_plane_pb2, records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import FailedPreconditionError, NotFoundError, RecmeshError

log = structlog.get_logger("recmesh.control_plane.rollout_control")


class RolloutControl:
    def __init__(
        self, keys: KeySchema, rollouts: RolloutReader, audit: AuditLog, clock: Clock
    ) -> None:
        self._keys = keys
        self._rollouts = rollouts
        self._audit = audit
        self._clock = clock

    async def get(self, experiment_id: str) -> control_plane_pb2.GetRolloutResponse:
        """The rollout record and every look, oldest first."""
        stored = await self._stored(experiment_id)
        looks = await self._rollouts.looks(experiment_id)
        return control_plane_pb2.GetRolloutResponse(rollout=stored.record, looks=looks)

    async def pause(self, experiment_id: str, reason: str, actor: str) -> records_pb2.RolloutRecord:
        try:
            return await self._change(experiment_id, actor, pause=True, reason=reason)
        except RecmeshError as exc:
            raise await audited(
                self._audit,
                exc,
                actor=actor,
                action="rollout_pause_refused",
                subject=experiment_id or "experiment",
            ) from None

    async def resume(self, experiment_id: str, actor: str) -> records_pb2.RolloutRecord:
        try:
            return await self._change(experiment_id, actor, pause=False, reason="")
        except RecmeshError as exc:
            raise await audited(
                self._audit,
                exc,
                actor=actor,
                action="rollout_resume_refused",
                subject=experiment_id or "experiment",
            ) from None

    async def _stored(self, experiment_id: str) -> StoredRollout:
        require(experiment_id, "experiment_id")
        stored = await self._rollouts.rollout(experiment_id)
        if stored is None:
            raise NotFoundError(
                f"experiment {experiment_id!r} has no staged rollout (promote it with a plan)"
            )
        return stored

    async def _change(
        self, experiment_id: str, actor: str, *, pause: bool, reason: str
    ) -> records_pb2.RolloutRecord:
        stored = await self._stored(experiment_id)
        wanted = records_pb2.ROLLOUT_STATUS_RUNNING if pause else records_pb2.ROLLOUT_STATUS_PAUSED
        if stored.record.status != wanted:
            status = records_pb2.RolloutStatus.Name(stored.record.status)
            verb = "pause" if pause else "resume"
            raise FailedPreconditionError(
                f"the rollout of {experiment_id} is {status.removeprefix('ROLLOUT_STATUS_')}, "
                f"so there is nothing to {verb}"
            )
        now = self._clock()
        record = records_pb2.RolloutRecord()
        record.CopyFrom(stored.record)
        held = held_seconds(record, now)
        if pause:
            record.status = records_pb2.ROLLOUT_STATUS_PAUSED
            record.stage_held_before = held
        else:
            record.status = records_pb2.ROLLOUT_STATUS_RUNNING
            record.stage_running_since.CopyFrom(timestamp(lambda: now))
        action = "rollout_pause" if pause else "rollout_resume"
        details = {
            "rollout_id": record.rollout_id,
            "stage": str(record.stage),
            "held_seconds": f"{held:.0f}",
        }
        if pause:
            details["reason"] = reason
        key = self._keys.rollout(experiment_id)
        try:
            await self._audit.commit(
                AuditDraft(actor=actor, action=action, subject=experiment_id, details=details),
                [KeyAt(key, stored.mod_revision)],
                [Put(key, encode(record))],
            )
        except ConflictError as exc:
            raise FailedPreconditionError(
                f"the rollout of {experiment_id} changed meanwhile (a look advanced or ended "
                "it); check `recmesh rollout status` and try again"
            ) from exc
        log.info(action, experiment_id=experiment_id, held_seconds=held, actor=actor)
        return record
