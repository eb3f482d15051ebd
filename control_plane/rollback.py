"""Rollback: the pointer back to the version that served before the current one, or to a
named version that served earlier. Operator only (role table); always audited, refusals
included (`rollback_refused`, with the code and the reason).

"Before the current one" is literal: after rolling back from B to A, the
previous version is B again. Use a target to walk further back.
"""

from __future__ import annotations

import structlog

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.refusals import audited
from control_plane.store.errors import ConflictError
from control_plane.store.records import RecordReader
from control_plane.store.txn import KeyAt, Put
from control_plane.validation import require, require_version_id
from recmesh.controlplane.v1 import control_plane_pb2, records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.pointer_codec import encode_pointer
from recmesh.rpc.errors import FailedPreconditionError, RecmeshError

log = structlog.get_logger("recmesh.control_plane.rollback")

#: The subject of a refused rollback that named no target.
REFUSAL_SUBJECT = "serving-pointer"


class Rollback:
    def __init__(
        self, keys: KeySchema, records: RecordReader, audit: AuditLog, clock: Clock
    ) -> None:
        self._keys = keys
        self._records = records
        self._audit = audit
        self._clock = clock

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
        if current is None:
            raise FailedPreconditionError("the serving pointer is unset: nothing to roll back")
        target = _choose(current, history.replaced, target_version)
        pointer = records_pb2.ServingPointer(
            serving_version=target.serving_version,
            manifest_sha256=target.manifest_sha256,
            set_by=actor,
            set_at=timestamp(self._clock),
            reason=f"rollback: {reason}",
        )
        draft = AuditDraft(
            actor=actor,
            action="rollback",
            subject=target.serving_version,
            details={
                "from": current.serving_version,
                "to": target.serving_version,
                "reason": reason,
                "replaced_pointer_revision": str(current.revision),
            },
        )
        try:
            committed = await self._audit.commit(
                draft,
                [KeyAt(self._keys.pointer, current.revision)],
                [
                    Put(self._keys.pointer, encode_pointer(pointer)),
                    Put(self._keys.pointer_history(current.revision), encode_pointer(current)),
                ],
            )
        except ConflictError as exc:
            now = await self._records.pointer()
            where = "unset" if now is None else f"{now.serving_version} at revision {now.revision}"
            raise FailedPreconditionError(
                f"the pointer moved while rolling back (now {where}); check `recmesh pointer` "
                "and roll back again if still needed"
            ) from exc
        pointer.revision = committed.revision
        log.info(
            "rolled_back",
            old_version=current.serving_version,
            new_version=pointer.serving_version,
            revision=pointer.revision,
            actor=actor,
            reason=reason,
        )
        return control_plane_pb2.RollbackResponse(
            pointer=pointer, previous_version=current.serving_version
        )


def _choose(
    current: records_pb2.ServingPointer,
    replaced: tuple[records_pb2.ServingPointer, ...],
    target_version: str,
) -> records_pb2.ServingPointer:
    """The replaced pointer value to restore: the latest one of target_version, or the
    latest one naming a version other than the current one."""
    earlier = [p for p in reversed(replaced) if p.serving_version != current.serving_version]
    if target_version:
        if target_version == current.serving_version:
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
            f"nothing to roll back to: {current.serving_version} is the only version that served"
        )
    return earlier[0]
