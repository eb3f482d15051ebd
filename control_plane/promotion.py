"""Promote: the guarded move of the serving pointer to an experiment's challenger.

An experiment may be promoted when its evaluation's evidence, judged again
with the experiment's recorded rule (`verdicts.derive_verdict`, as
RecordEvaluation judged it), derives PASS, no reviewer
rejected it, enough distinct reviewers approved it, and the champion is the one
the evaluation was measured against (`promotable.promotable`: the pointer's
revision then is one of the current champion's records, which differ only in the
challenger a shadow or a staged rollout named beside it, `champion_lineage`). The
move is one etcd transaction that compares the pointer's mod_revision with the
one those checks read, the evaluation unchanged, no promotion recorded, the
experiment's rollout record unchanged (a staged rollout that did not complete
refuses the promotion, `promotion_rule.unfinished_rollout`), no review
written since the checks read them, and the audit head unmoved. It writes the new
pointer, the replaced pointer into the history, the promotion record and the audit
entry together.

When the transaction fails because the pointer moved, the promotion is
refused: the champion may have changed since the checks. It is
retried only when the audit head moved (AuditLog does that) or a review
arrived (the checks run again on fresh records). A refused promotion reaches
the caller as FAILED_PRECONDITION with the reason. Every refusal, those and any
other (an unknown experiment, reviews that kept arriving, a damaged record), is
itself an audit entry (`promote_refused`, with its code and reason).
"""

from __future__ import annotations

import structlog

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.experiment_state import approvers
from control_plane.pointer_writer import PointerWriter, record_sha256
from control_plane.promotable import promotable
from control_plane.promotion_rule import champion_changed
from control_plane.refusals import audited
from control_plane.rollout_pointer import rollout_in_the_way, rollout_of
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError
from control_plane.store.records import RecordReader
from control_plane.store.txn import Put
from control_plane.validation import require
from recmesh.api.controlplane.v1 import control_plane_pb2, records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import FailedPreconditionError, RecmeshError

log = structlog.get_logger("recmesh.control_plane.promotion")

_REREADS = 5
#: The subject of a refused promotion that named no experiment.
REFUSAL_SUBJECT = "experiment"


class Promoter:
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

    async def promote(self, experiment_id: str, actor: str) -> control_plane_pb2.PromoteResponse:
        """Moves the pointer; a refusal, whatever its reason, is audited first."""
        try:
            return await self._promote(experiment_id, actor)
        except RecmeshError as exc:
            raise await audited(
                self._audit,
                exc,
                actor=actor,
                action="promote_refused",
                subject=experiment_id or REFUSAL_SUBJECT,
            ) from None

    async def _promote(self, experiment_id: str, actor: str) -> control_plane_pb2.PromoteResponse:
        require(experiment_id, "experiment_id")
        keys = self._keys
        for _ in range(_REREADS):
            checked = await promotable(self._records, experiment_id)
            records, evaluation, previous = checked.records, checked.evaluation, checked.champion
            challenger = checked.challenger
            in_the_way = rollout_in_the_way(previous, experiment_id)
            if in_the_way is not None:
                raise FailedPreconditionError(in_the_way)
            pointer = records_pb2.ServingPointer(
                serving_version=challenger.version_id,
                manifest_sha256=challenger.manifest_sha256,
                experiment_id=experiment_id,
                set_by=actor,
                set_at=timestamp(self._clock),
                reason=f"promoted experiment {experiment_id}",
            )
            record = control_plane_pb2.PromoteResponse(
                pointer=pointer, previous_version=previous.serving_version
            )
            guards = checked.unchanged(keys)
            puts = [Put(keys.promotion(experiment_id), encode(record))]
            details = {
                "from": previous.serving_version,
                "to": challenger.version_id,
                "evaluated_pointer_revision": str(evaluation.champion_pointer_revision),
                "approved_by": ",".join(approvers(records.reviews)),
            }
            shadow = rollout_of(previous)
            if shadow is not None:  # its own shadow (rollout_in_the_way let it through)
                details["ended_shadow"] = shadow.rollout_id
            draft = AuditDraft(
                actor=actor, action="promote", subject=experiment_id, details=details
            )

            try:
                pointer = await self._writer.move(
                    draft,
                    pointer,
                    replaces=previous,
                    replaces_revision=previous.revision,
                    guards=guards,
                    puts=puts,
                    evaluation_sha256=record_sha256(encode(evaluation)),
                )
            except ConflictError as exc:
                if exc.failed_on(keys.pointer):
                    current = (await self._records.pointer_value()).pointer
                    raise FailedPreconditionError(champion_changed(evaluation, current)) from exc
                if exc.failed_on(keys.promotion(experiment_id)):
                    raise FailedPreconditionError(
                        f"experiment {experiment_id} was already promoted"
                    ) from exc
                if exc.failed_on(keys.evaluation(experiment_id)):
                    raise FailedPreconditionError(
                        f"the evaluation of {experiment_id} changed while promoting; it is "
                        "immutable, so it was written outside the control plane",
                    ) from exc
                continue  # a review arrived after the checks: decide again
            log.info(
                "promoted",
                experiment_id=experiment_id,
                old_version=previous.serving_version,
                new_version=pointer.serving_version,
                revision=pointer.revision,
                actor=actor,
            )
            return control_plane_pb2.PromoteResponse(
                pointer=pointer, previous_version=previous.serving_version
            )
        raise ConflictError([], f"reviews of {experiment_id} kept arriving; promote again")
