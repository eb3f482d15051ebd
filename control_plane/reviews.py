"""Reviews: approvals, rejections and the comments of the debate around an experiment.

Rules, beyond the role table (which lets experimenters and reviewers call
SubmitReview at all): only reviewers approve or reject; whoever submitted an
experiment or recorded its evaluation never approves it, whatever roles they
hold (separation of duties); an approval is of a recorded PASS evaluation,
so it cannot come before the evaluation, nor after a FAIL, a rejection or the
promotion. A rejection or a comment needs text. Every refused review (a bad
verdict or text, an unknown experiment, a rule above) is audited
(`review_refused`, with its code and reason).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.auth.roles import Principal, Role
from control_plane.clock import Clock, timestamp
from control_plane.experiment_state import ExperimentRecords, derive_state, first_rejection
from control_plane.refusals import audited
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError
from control_plane.store.records import RecordReader
from control_plane.store.txn import Guard, KeyAbsent, KeyAt, Put
from control_plane.validation import MAX_TEXT, require
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    PermissionDeniedError,
    RecmeshError,
)

_ATTEMPTS = 5
#: The subject of a refused review that named no experiment.
REFUSAL_SUBJECT = "review"
_VERDICT_WORDS = {
    records_pb2.REVIEW_VERDICT_APPROVE: "approve",
    records_pb2.REVIEW_VERDICT_REJECT: "reject",
    records_pb2.REVIEW_VERDICT_COMMENT: "comment",
}


def new_review_id() -> str:
    return "rv-" + secrets.token_hex(5)


class ReviewBook:
    def __init__(
        self,
        keys: KeySchema,
        records: RecordReader,
        audit: AuditLog,
        clock: Clock,
        new_id: Callable[[], str] = new_review_id,
    ) -> None:
        self._keys = keys
        self._records = records
        self._audit = audit
        self._clock = clock
        self._new_id = new_id

    async def submit(
        self,
        experiment_id: str,
        verdict: records_pb2.ReviewVerdict.ValueType,
        comment: str,
        principal: Principal,
    ) -> tuple[records_pb2.Review, records_pb2.ExperimentState.ValueType]:
        """Records the review; a refusal, whatever its reason, is audited first."""
        try:
            return await self._submit(experiment_id, verdict, comment, principal)
        except RecmeshError as exc:
            raise await audited(
                self._audit,
                exc,
                actor=principal.name,
                action="review_refused",
                subject=experiment_id or REFUSAL_SUBJECT,
                details={"verdict": _VERDICT_WORDS.get(verdict, str(verdict))},
            ) from None

    async def _submit(
        self,
        experiment_id: str,
        verdict: records_pb2.ReviewVerdict.ValueType,
        comment: str,
        principal: Principal,
    ) -> tuple[records_pb2.Review, records_pb2.ExperimentState.ValueType]:
        require(experiment_id, "experiment_id")
        if verdict not in _VERDICT_WORDS:
            raise InvalidArgumentError("verdict must be APPROVE, REJECT or COMMENT")
        if verdict != records_pb2.REVIEW_VERDICT_APPROVE:
            require(comment, "comment (a rejection or a comment needs text)")
        elif len(comment) > MAX_TEXT:
            raise InvalidArgumentError(f"comment is longer than {MAX_TEXT} characters")
        for _ in range(_ATTEMPTS):
            records = await self._records.experiment(experiment_id)
            _check_allowed(records, verdict, principal)
            review = records_pb2.Review(
                review_id=self._new_id(),
                experiment_id=experiment_id,
                author=principal.name,
                verdict=verdict,
                comment=comment,
                created_at=timestamp(self._clock),
            )
            key = self._keys.review(experiment_id, review.review_id)
            draft = AuditDraft(
                actor=principal.name,
                action="review",
                subject=experiment_id,
                details={"verdict": _VERDICT_WORDS[verdict], "review_id": review.review_id},
            )
            # The checks above read the evaluation and the promotion: both must still be
            # as read when the review lands.
            guards: list[Guard] = [
                KeyAbsent(key),
                KeyAt(self._keys.evaluation(experiment_id), records.evaluation_mod_revision),
                KeyAbsent(self._keys.promotion(experiment_id)),
            ]
            try:
                await self._audit.commit(draft, guards, [Put(key, encode(review))])
            except ConflictError:
                continue
            after = await self._records.experiment(experiment_id)
            return review, derive_state(after)
        raise ConflictError([], f"experiment {experiment_id} kept changing; submit again")

    async def list(self, experiment_id: str) -> list[records_pb2.Review]:
        require(experiment_id, "experiment_id")
        return list((await self._records.experiment(experiment_id)).reviews)


def _check_separation_of_duties(records: ExperimentRecords, principal: Principal) -> None:
    """Whoever created the experiment or recorded its evaluation cannot approve it, whatever
    roles they hold: an approval is a second person's."""
    experiment = records.experiment
    duties = []
    if principal.name == experiment.submitted_by:
        duties.append("submitted")
    if records.evaluation is not None and principal.name == records.evaluation.recorded_by:
        duties.append("recorded the evaluation of")
    if duties:
        raise PermissionDeniedError(
            f"{principal.name} {' and '.join(duties)} experiment {experiment.experiment_id} "
            "and cannot approve it, whatever roles they hold; another reviewer must"
        )


def _check_allowed(
    records: ExperimentRecords,
    verdict: records_pb2.ReviewVerdict.ValueType,
    principal: Principal,
) -> None:
    if verdict == records_pb2.REVIEW_VERDICT_COMMENT:
        return
    experiment = records.experiment
    word = _VERDICT_WORDS[verdict]
    if verdict == records_pb2.REVIEW_VERDICT_APPROVE:
        _check_separation_of_duties(records, principal)
    if not principal.holds(Role.REVIEWER):
        raise PermissionDeniedError(
            f"{principal.name} is not a reviewer and cannot {word} (comment instead)"
        )
    state = derive_state(records)
    if state == records_pb2.EXPERIMENT_STATE_PROMOTED:
        raise FailedPreconditionError(
            f"experiment {experiment.experiment_id} was already promoted; comment instead"
        )
    if verdict == records_pb2.REVIEW_VERDICT_REJECT:
        return
    if records.evaluation is None:
        raise FailedPreconditionError(
            f"experiment {experiment.experiment_id} has no evaluation yet; approve it once "
            "its evaluation is recorded"
        )
    if records.evaluation.verdict != records_pb2.VERDICT_PASS:
        raise FailedPreconditionError(
            f"experiment {experiment.experiment_id} has verdict FAIL and cannot be approved"
        )
    rejection = first_rejection(records.reviews)
    if rejection is not None:
        raise FailedPreconditionError(
            f"experiment {experiment.experiment_id} was rejected by {rejection.author} and "
            "cannot be approved"
        )
