"""Promote: the guarded move of the serving pointer to an experiment's challenger.

An experiment may be promoted when its evaluation's evidence, judged again
with the experiment's recorded rule (`verdicts.derive_verdict`, as
RecordEvaluation judged it), derives PASS, no reviewer
rejected it, enough distinct reviewers approved it, and the pointer still has
the mod_revision the evaluation was measured against. The move is one etcd
transaction that compares exactly that: pointer mod_revision == the
evaluation's champion_pointer_revision, the evaluation unchanged, no
promotion recorded, no review written since the checks read them, and the
audit head unmoved. It writes the new pointer, the replaced pointer into the
history, the promotion record and the audit entry together.

When the transaction fails because the pointer moved, the promotion is
refused: the evaluation no longer measures the current champion. It is
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
from control_plane.evaluated_model import evaluated_model_mismatch
from control_plane.experiment_state import (
    ExperimentRecords,
    approvals_required,
    approvers,
    first_rejection,
)
from control_plane.pointer_writer import PointerWriter, record_sha256
from control_plane.refusals import audited
from control_plane.served_data import forgotten_log_rows
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError
from control_plane.store.records import RecordReader
from control_plane.store.txn import Guard, KeyAbsent, KeyAt, NothingCreatedAfter, Put
from control_plane.validation import require
from control_plane.verdicts import derive_verdict
from recmesh.api.controlplane.v1 import control_plane_pb2, records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import FailedPreconditionError, InvalidArgumentError, RecmeshError

log = structlog.get_logger("recmesh.control_plane.promotion")

_REREADS = 5
#: The subject of a refused promotion that named no experiment.
REFUSAL_SUBJECT = "experiment"


def promotion_refusal(records: ExperimentRecords) -> str | None:
    """Why this experiment may not be promoted now, or None if it may.

    Checked in this order: evaluation recorded, its evidence derives PASS under the
    experiment's rule (the stored verdict is not trusted: an evaluation recorded before
    verdicts were derived, or written behind the control plane, carries no evidence or
    evidence that says otherwise), not rejected, enough approvals, champion unchanged
    since the evaluation, not promoted yet. Raises CorruptRecordError (DATA_LOSS) for a
    recorded rule that cannot be applied.
    """
    experiment_id = records.experiment.experiment_id
    evaluation = records.evaluation
    if evaluation is None:
        return (
            f"no evaluation recorded for experiment {experiment_id}; record one "
            "(RecordEvaluation) before promoting"
        )
    if evaluation.verdict != records_pb2.VERDICT_PASS:
        reasons = "; ".join(evaluation.reasons) or "no reason given"
        return f"evaluation verdict is FAIL: {reasons}"
    if not evaluation.evidence:
        return (
            f"the evaluation of experiment {experiment_id} carries no evidence (recorded "
            "before verdicts were derived, or written outside the control plane), so its PASS "
            "cannot be derived; evaluate again in a new experiment"
        )
    try:
        # derive_verdict refuses a declared PASS the evidence does not derive.
        derive_verdict(evaluation, records.experiment)
    except InvalidArgumentError as exc:
        return (
            f"the evaluation of experiment {experiment_id} does not derive PASS from its "
            f"evidence: {exc}"
        )
    rejection = first_rejection(records.reviews)
    if rejection is not None:
        return f"experiment {experiment_id} was rejected by {rejection.author}: {rejection.comment}"
    approved = len(approvers(records.reviews))
    needed = approvals_required(records.experiment)
    if approved < needed:
        return f"not enough approvals: {approved} of {needed}"
    pointer = records.pointer
    if pointer is None or pointer.revision != evaluation.champion_pointer_revision:
        return champion_changed(evaluation, pointer)
    if records.promotion_exists:
        return f"experiment {experiment_id} was already promoted"
    return None


def champion_changed(
    evaluation: records_pb2.Evaluation, pointer: records_pb2.ServingPointer | None
) -> str:
    now = (
        "unset or damaged (`recmesh pointer` says which)"
        if pointer is None
        else f"{pointer.serving_version} at revision {pointer.revision}"
    )
    return (
        f"champion changed since the evaluation: {evaluation.challenger_version} was measured "
        f"against {evaluation.champion_version} at pointer revision "
        f"{evaluation.champion_pointer_revision}, the pointer is now {now}; re-evaluate against "
        "the current champion (create a new experiment)"
    )


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
            records = await self._records.experiment(experiment_id)
            refusal = promotion_refusal(records)
            if refusal is not None:
                raise FailedPreconditionError(refusal)
            evaluation = records.evaluation
            previous = records.pointer
            # promotion_refusal returned None, so both exist.
            assert evaluation is not None
            assert previous is not None
            challenger = await self._records.model(evaluation.challenger_version)
            mismatch = evaluated_model_mismatch(
                evaluation, challenger, records.experiment.spec.dataset_fingerprint
            )
            champion = await self._records.find_model(previous.serving_version)
            if mismatch is None and champion is not None:
                mismatch = forgotten_log_rows(champion, challenger)
            if mismatch is not None:
                raise FailedPreconditionError(mismatch)
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
            guards: list[Guard] = [
                KeyAt(keys.pointer, evaluation.champion_pointer_revision),
                KeyAt(keys.evaluation(experiment_id), records.evaluation_mod_revision),
                KeyAbsent(keys.promotion(experiment_id)),
                NothingCreatedAfter(keys.reviews_prefix(experiment_id), records.revision),
            ]
            puts = [Put(keys.promotion(experiment_id), encode(record))]
            draft = AuditDraft(
                actor=actor,
                action="promote",
                subject=experiment_id,
                details={
                    "from": previous.serving_version,
                    "to": challenger.version_id,
                    "evaluated_pointer_revision": str(evaluation.champion_pointer_revision),
                    "approved_by": ",".join(approvers(records.reviews)),
                },
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
