"""Evaluations: the recorded result of an experiment, written once and never changed.

Its verdict is derived from its evidence (`verdicts`); the reasons recorded are the
derived ones. Every refusal (a verdict the evidence does not support, an evaluation
of another challenger, champion, revision, dataset or model, a second evaluation, an
unknown experiment) is audited (`record_evaluation_refused`, with its code and reason)
before it reaches the caller."""

from __future__ import annotations

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.evaluated_model import evaluated_model_mismatch
from control_plane.refusals import audited
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError
from control_plane.store.records import RecordReader
from control_plane.store.txn import KeyAbsent, Put
from control_plane.validation import require, validate_evaluation
from control_plane.verdicts import derive_verdict
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    NotFoundError,
    RecmeshError,
)

#: The subject of a refused evaluation that named no experiment.
REFUSAL_SUBJECT = "evaluation"


class EvaluationBook:
    def __init__(
        self, keys: KeySchema, records: RecordReader, audit: AuditLog, clock: Clock
    ) -> None:
        self._keys = keys
        self._records = records
        self._audit = audit
        self._clock = clock

    async def record(
        self, evaluation: records_pb2.Evaluation, actor: str
    ) -> records_pb2.Evaluation:
        """Records the evaluation; a refusal, whatever its reason, is audited first."""
        try:
            return await self._record(evaluation, actor)
        except RecmeshError as exc:
            raise await audited(
                self._audit,
                exc,
                actor=actor,
                action="record_evaluation_refused",
                subject=evaluation.experiment_id or REFUSAL_SUBJECT,
                details={"verdict": _verdict_name(evaluation.verdict)},
            ) from None

    async def _record(
        self, evaluation: records_pb2.Evaluation, actor: str
    ) -> records_pb2.Evaluation:
        experiment_id = require(evaluation.experiment_id, "evaluation.experiment_id")
        records = await self._records.experiment(experiment_id)
        if records.evaluation is not None:
            raise _already_recorded(records.evaluation)
        validate_evaluation(evaluation, records.experiment)
        derived = derive_verdict(evaluation, records.experiment)
        challenger = await self._records.model(evaluation.challenger_version)
        mismatch = evaluated_model_mismatch(
            evaluation, challenger, records.experiment.spec.dataset_fingerprint
        )
        if mismatch is not None:
            raise InvalidArgumentError(mismatch)
        stored = records_pb2.Evaluation()
        stored.CopyFrom(evaluation)
        stored.recorded_by = actor
        stored.reasons[:] = derived.reasons
        stored.recorded_at.CopyFrom(timestamp(self._clock))
        key = self._keys.evaluation(experiment_id)
        draft = AuditDraft(
            actor=actor,
            action="record_evaluation",
            subject=experiment_id,
            details={
                "verdict": records_pb2.Verdict.Name(stored.verdict),
                "challenger": stored.challenger_version,
                "champion": stored.champion_version,
                "champion_pointer_revision": str(stored.champion_pointer_revision),
                "dataset_fingerprint": stored.dataset_fingerprint,
                "report_uri": stored.report_uri,
            },
        )
        try:
            await self._audit.commit(draft, [KeyAbsent(key)], [Put(key, encode(stored))])
        except ConflictError as exc:
            raise AlreadyExistsError(
                f"experiment {experiment_id} got an evaluation concurrently; evaluations are "
                "immutable"
            ) from exc
        return stored

    async def get(self, experiment_id: str) -> records_pb2.Evaluation:
        require(experiment_id, "experiment_id")
        records = await self._records.experiment(experiment_id)
        if records.evaluation is None:
            raise NotFoundError(f"experiment {experiment_id} has no evaluation yet")
        return records.evaluation


def _already_recorded(evaluation: records_pb2.Evaluation) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"experiment {evaluation.experiment_id} already has an evaluation (verdict "
        f"{records_pb2.Verdict.Name(evaluation.verdict).removeprefix('VERDICT_')}, recorded by "
        f"{evaluation.recorded_by} at {evaluation.recorded_at.ToJsonString()}); evaluations "
        "are immutable: create a new experiment to evaluate again"
    )


def _verdict_name(verdict: int) -> str:
    """The verdict's enum name, or the number a malformed request carried."""
    try:
        return records_pb2.Verdict.Name(verdict)  # type: ignore[arg-type]
    except ValueError:
        return f"unknown verdict {verdict}"
