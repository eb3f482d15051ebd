"""Rollback: the pointer back to the version that served before the current one, or to a
named version that served earlier. Operator only (role table); always audited, refusals
included (`rollback_refused`, with the code and the reason).

A rollback during a staged rollout ends it: the record it writes names no challenger,
and the same transaction marks the rollout STOPPED (guarded on the rollout record, so a
look cannot advance it meanwhile); the audit entry names it (`rollout_stopped`). Records
that only added or dropped a challenger beside the champion name the same version, so
they are never "the version before". Without a target, a rollback while the pointer
names a challenger (staged or shadow) drops the challenger and keeps the champion:
for the users it answered, the champion is what served before.

"Before the current one" is literal: after rolling back from B to A, the
previous version is B again. Use a target to walk further back.

It also repairs a damaged pointer (a value that does not parse or is not signed by the
control plane, written behind it): the targets are then the verified history plus the
last signed record (what serving still holds), the default being that last record.
"""

from __future__ import annotations

import structlog

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.pointer_writer import PointerWriter
from control_plane.refusals import audited
from control_plane.rollout_pointer import rollout_of
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError
from control_plane.store.records import PointerHistory, RecordReader
from control_plane.store.rollout_records import RolloutReader
from control_plane.store.txn import Guard, KeyAt, Put
from control_plane.validation import require, require_version_id
from recmesh.api.controlplane.v1 import control_plane_pb2, records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import FailedPreconditionError, RecmeshError

log = structlog.get_logger("recmesh.control_plane.rollback")

#: The subject of a refused rollback that named no target.
REFUSAL_SUBJECT = "serving-pointer"


class Rollback:
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

    async def rollback(
        self, reason: str, target_version: str, actor: str
    ) -> control_plane_pb2.RollbackResponse:
        """Moves the pointer back; a refusal, whatever its reason, is audited
        (`rollback_refused`) before it reaches the caller."""
        try:
            return await self._rollback(reason, target_version, actor)
        except RecmeshError as exc:
            raise await audited(
                self._audit,
                exc,
                actor=actor,
                action="rollback_refused",
                subject=target_version or REFUSAL_SUBJECT,
                details={"requested_target": target_version, "requested_reason": reason},
            ) from None

    async def _rollback(
        self, reason: str, target_version: str, actor: str
    ) -> control_plane_pb2.RollbackResponse:
        require(reason, "reason")
        if target_version:
            require_version_id(target_version, "target_version")
        history = await self._records.pointer_history()
        current = history.current
        if current is None and history.damaged is None:
            raise FailedPreconditionError("the serving pointer is unset: nothing to roll back")
        if current is not None and rollout_of(current) is not None and not target_version:
            # Users on the challenger arm were served by it: what served them before is
            # the champion, which every other user still has.
            target = current
        else:
            target = _choose(current, _targets(history), target_version)
        pointer = records_pb2.ServingPointer(
            serving_version=target.serving_version,
            manifest_sha256=target.manifest_sha256,
            set_by=actor,
            set_at=timestamp(self._clock),
            reason=f"rollback: {reason}",
        )
        details = {
            "from": "damaged" if current is None else current.serving_version,
            "to": target.serving_version,
            "reason": reason,
            "replaced_pointer_revision": str(history.current_revision),
        }
        if history.damaged is not None:
            details["repaired"] = f"{history.damaged.key}: {history.damaged.problem}"
        guards: list[Guard] = [KeyAt(self._keys.pointer, history.current_revision)]
        puts = await self._end_rollout(current, reason, actor, details, guards)
        draft = AuditDraft(
            actor=actor, action="rollback", subject=target.serving_version, details=details
        )
        try:
            pointer = await self._writer.move(
                draft,
                pointer,
                replaces=current,
                replaces_revision=history.current_revision,
                guards=guards,
                puts=puts,
            )
        except ConflictError as exc:
            now = (await self._records.pointer_value()).pointer
            where = (
                "unset or damaged"
                if now is None
                else f"{now.serving_version} at revision {now.revision}"
            )
            raise FailedPreconditionError(
                f"the pointer moved while rolling back (now {where}); check `recmesh pointer` "
                "and roll back again if still needed"
            ) from exc
        log.info(
            "rolled_back",
            old_version=details["from"],
            new_version=pointer.serving_version,
            revision=pointer.revision,
            actor=actor,
            reason=reason,
            repaired=details.get("repaired"),
        )
        return control_plane_pb2.RollbackResponse(pointer=pointer, previous_version=details["from"])

    async def _end_rollout(
        self,
        current: records_pb2.ServingPointer | None,
        reason: str,
        actor: str,
        details: dict[str, str],
        guards: list[Guard],
    ) -> list[Put]:
        """The record of the staged rollout the current pointer names, STOPPED (with its
        guard added and its id in details); nothing when none is running."""
        named = rollout_of(current)
        if named is None or named.mode != records_pb2.ROLLOUT_MODE_STAGED:
            return []
        stored = await self._rollouts.rollout(named.experiment_id)
        if stored is None or not stored.active or stored.record.rollout_id != named.rollout_id:
            return []
        record = records_pb2.RolloutRecord()
        record.CopyFrom(stored.record)
        record.status = records_pb2.ROLLOUT_STATUS_STOPPED
        record.ended_reason = f"rolled back by {actor}: {reason}"
        key = self._keys.rollout(named.experiment_id)
        guards.append(KeyAt(key, stored.mod_revision))
        details["rollout_stopped"] = named.rollout_id
        return [Put(key, encode(record))]


def _targets(history: PointerHistory) -> tuple[records_pb2.ServingPointer, ...]:
    """Verified values that served before; with a damaged pointer, also the last signed
    record (the pointer value the damage overwrote, which serving still holds)."""
    if history.damaged is None or history.latest_signed is None:
        return history.replaced
    return (*history.replaced, history.latest_signed)


def _choose(
    current: records_pb2.ServingPointer | None,
    replaced: tuple[records_pb2.ServingPointer, ...],
    target_version: str,
) -> records_pb2.ServingPointer:
    """The replaced pointer value to restore: the latest one of target_version, or the
    latest one naming a version other than the current one (None: the pointer is damaged)."""
    serving = None if current is None else current.serving_version
    earlier = [p for p in reversed(replaced) if p.serving_version != serving]
    if target_version:
        if target_version == serving:
            raise FailedPreconditionError(f"{target_version} is already serving")
        for pointer in earlier:
            if pointer.serving_version == target_version:
                return pointer
        served = ", ".join(dict.fromkeys(p.serving_version for p in earlier)) or "none"
        raise FailedPreconditionError(
            f"{target_version} has not served before, so it is no rollback target "
            f"(versions that served before: {served})"
        )
    if not earlier:
        raise FailedPreconditionError(
            f"nothing to roll back to: {serving or 'no verified version'} is the only version "
            "that served"
        )
    return earlier[0]
