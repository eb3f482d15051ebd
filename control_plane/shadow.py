"""StartShadow and StopShadow: the challenger ranked beside the champion for a share of users.

In shadow the front answers every request with the champion and, for the share of users
whose bucket is below it, also ranks with the challenger after answering, so the
impression log holds both lists (the quality diff). No user sees the challenger, but
it runs on live traffic, so shadow needs the same evidence as a promotion
(`promotable.promotable`): PASS, approvals, no rejection, champion unchanged.

Starting writes a new signed pointer record: the same champion with
`rollout{mode SHADOW, share, new rollout_id, challenger}`; stopping writes it without.
Both are one guarded transaction with their audit entry (`shadow_start`,
`shadow_stop`); refusals are audited too (`shadow_start_refused`,
`shadow_stop_refused`). A staged promotion, an unstaged one and a rollback each
write a record of their own, which ends a shadow.
"""

from __future__ import annotations

import math

import structlog

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock
from control_plane.pointer_writer import PointerWriter
from control_plane.promotable import promotable
from control_plane.refusals import audited
from control_plane.rollout_pointer import (
    challenger_rollout,
    champion_with,
    mode_name,
    new_rollout_id,
    rollout_of,
)
from control_plane.store.errors import ConflictError
from control_plane.store.records import RecordReader
from control_plane.store.txn import KeyAt
from control_plane.validation import require
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import FailedPreconditionError, InvalidArgumentError, RecmeshError

log = structlog.get_logger("recmesh.control_plane.shadow")

_REREADS = 5


def check_share(share: float, field: str = "share") -> float:
    """share when it lies in (0, 1]; InvalidArgumentError otherwise."""
    if not (math.isfinite(share) and 0.0 < share <= 1.0):
        raise InvalidArgumentError(f"{field} must lie in (0, 1], got {share:g}")
    return share


class ShadowBook:
    def __init__(
        self,
        keys: KeySchema,
        records: RecordReader,
        audit: AuditLog,
        clock: Clock,
        writer: PointerWriter,
    ) -> None:
        self._keys = keys
        self._records = records
        self._audit = audit
        self._clock = clock
        self._writer = writer

    async def start(
        self, experiment_id: str, share: float, actor: str
    ) -> records_pb2.ServingPointer:
        """The new pointer record, with the challenger in shadow; refusals audited."""
        try:
            return await self._start(experiment_id, share, actor)
        except RecmeshError as exc:
            raise await audited(
                self._audit,
                exc,
                actor=actor,
                action="shadow_start_refused",
                subject=experiment_id or "experiment",
                details={"share": f"{share:g}"},
            ) from None

    async def stop(self, experiment_id: str, reason: str, actor: str) -> records_pb2.ServingPointer:
        """The new pointer record, champion alone; refusals audited."""
        try:
            return await self._stop(experiment_id, reason, actor)
        except RecmeshError as exc:
            raise await audited(
                self._audit,
                exc,
                actor=actor,
                action="shadow_stop_refused",
                subject=experiment_id or "experiment",
            ) from None

    async def _start(
        self, experiment_id: str, share: float, actor: str
    ) -> records_pb2.ServingPointer:
        require(experiment_id, "experiment_id")
        check_share(share)
        keys = self._keys
        for _ in range(_REREADS):
            checked = await promotable(self._records, experiment_id)
            champion = checked.champion
            running = rollout_of(champion)
            if running is not None and (
                running.mode == records_pb2.ROLLOUT_MODE_STAGED
                or running.experiment_id != experiment_id
            ):
                raise FailedPreconditionError(
                    f"the pointer already names experiment {running.experiment_id}'s challenger "
                    f"{running.challenger_version} ({mode_name(running.mode)}, rollout "
                    f"{running.rollout_id}); stop it before shadowing {experiment_id}"
                )
            rollout = challenger_rollout(
                experiment_id,
                checked.challenger,
                records_pb2.ROLLOUT_MODE_SHADOW,
                share,
                rollout_id=new_rollout_id(),
            )
            pointer = champion_with(
                champion,
                rollout,
                actor=actor,
                clock=self._clock,
                reason=f"shadow of experiment {experiment_id} at share {share:g}",
            )
            draft = AuditDraft(
                actor=actor,
                action="shadow_start",
                subject=experiment_id,
                details={
                    "rollout_id": rollout.rollout_id,
                    "champion": champion.serving_version,
                    "challenger": rollout.challenger_version,
                    "share": f"{share:g}",
                    "replaced_pointer_revision": str(champion.revision),
                },
            )
            guards = checked.unchanged(keys)
            try:
                written = await self._writer.move(
                    draft,
                    pointer,
                    replaces=champion,
                    replaces_revision=champion.revision,
                    guards=guards,
                    evaluation_sha256=champion.evaluation_sha256,
                )
            except ConflictError:
                continue  # the pointer moved or a review arrived: check again
            log.info(
                "shadow_started",
                experiment_id=experiment_id,
                rollout_id=rollout.rollout_id,
                share=share,
                revision=written.revision,
                actor=actor,
            )
            return written
        raise FailedPreconditionError(
            f"the pointer or the reviews of {experiment_id} kept changing; start the shadow again"
        )

    async def _stop(
        self, experiment_id: str, reason: str, actor: str
    ) -> records_pb2.ServingPointer:
        require(experiment_id, "experiment_id")
        champion = await self._records.pointer()
        running = rollout_of(champion)
        if (
            champion is None
            or running is None
            or running.mode != records_pb2.ROLLOUT_MODE_SHADOW
            or running.experiment_id != experiment_id
        ):
            now = (
                "nothing beside the champion"
                if running is None
                else (f"experiment {running.experiment_id} ({mode_name(running.mode)})")
            )
            raise FailedPreconditionError(
                f"experiment {experiment_id} is not in shadow (the pointer names {now})"
            )
        pointer = champion_with(
            champion,
            None,
            actor=actor,
            clock=self._clock,
            reason=f"shadow of experiment {experiment_id} stopped: {reason or 'no reason given'}",
        )
        draft = AuditDraft(
            actor=actor,
            action="shadow_stop",
            subject=experiment_id,
            details={
                "rollout_id": running.rollout_id,
                "challenger": running.challenger_version,
                "reason": reason,
            },
        )
        try:
            return await self._writer.move(
                draft,
                pointer,
                replaces=champion,
                replaces_revision=champion.revision,
                guards=[KeyAt(self._keys.pointer, champion.revision)],
                evaluation_sha256=champion.evaluation_sha256,
            )
        except ConflictError as exc:
            raise FailedPreconditionError(
                "the pointer moved while stopping the shadow; check `recmesh pointer` and stop "
                "it again if it is still running"
            ) from exc
