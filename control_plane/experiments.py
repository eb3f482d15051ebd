"""Experiments: a challenger measured against the champion that serves when it is created.

Creating one records its decision rule (`decision_rules`), no weaker than the
control plane's floors (confidence level, minimum resamples), and captures the
serving pointer's value and etcd mod_revision in the record; the write is
guarded by that revision, so the captured champion is the one that was serving
when the record was written. A refused creation is audited
(`create_experiment_refused`, with its code and reason).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.decision_rules import RuleFloors, check_floors, rule_message
from control_plane.experiment_state import derive_state, with_state
from control_plane.refusals import audited
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError
from control_plane.store.records import RecordReader
from control_plane.store.txn import KeyAbsent, KeyAt, Put
from control_plane.validation import require, validate_spec
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import FailedPreconditionError, InvalidArgumentError, RecmeshError

IdFactory = Callable[[], str]
#: The subject of a refused creation that named no challenger.
REFUSAL_SUBJECT = "experiment"
_CREATE_ATTEMPTS = 5


def new_experiment_id() -> str:
    return "exp-" + secrets.token_hex(5)


class ExperimentBook:
    def __init__(
        self,
        keys: KeySchema,
        records: RecordReader,
        audit: AuditLog,
        clock: Clock,
        floors: RuleFloors,
        new_id: IdFactory = new_experiment_id,
    ) -> None:
        self._keys = keys
        self._floors = floors
        self._records = records
        self._audit = audit
        self._clock = clock
        self._new_id = new_id

    async def create(self, spec: records_pb2.ExperimentSpec, actor: str) -> records_pb2.Experiment:
        """Records the experiment; a refusal, whatever its reason, is audited first."""
        try:
            return await self._create(spec, actor)
        except RecmeshError as exc:
            raise await audited(
                self._audit,
                exc,
                actor=actor,
                action="create_experiment_refused",
                subject=spec.challenger_version or REFUSAL_SUBJECT,
                details={"name": spec.name, "challenger": spec.challenger_version},
            ) from None

    async def _create(self, spec: records_pb2.ExperimentSpec, actor: str) -> records_pb2.Experiment:
        validate_spec(spec)
        await self._records.model(spec.challenger_version)
        stored_spec = records_pb2.ExperimentSpec()
        stored_spec.CopyFrom(spec)
        stored_spec.approvals_required = spec.approvals_required or 1
        rule = rule_message(stored_spec)
        check_floors(rule, self._floors)
        for _ in range(_CREATE_ATTEMPTS):
            pointer = await self._records.pointer()
            if pointer is None:
                raise FailedPreconditionError(
                    "no serving version yet: the serving pointer is unset (`recmesh up` "
                    "initialises it with the baseline)"
                )
            if pointer.serving_version == spec.challenger_version:
                raise InvalidArgumentError(
                    f"challenger {spec.challenger_version} is the current serving version; "
                    "an experiment needs a challenger other than the champion"
                )
            experiment = records_pb2.Experiment(
                experiment_id=self._new_id(),
                spec=stored_spec,
                champion_version=pointer.serving_version,
                champion_pointer_revision=pointer.revision,
                submitted_by=actor,
                created_at=timestamp(self._clock),
                rule=rule,
            )
            key = self._keys.experiment(experiment.experiment_id)
            draft = AuditDraft(
                actor=actor,
                action="create_experiment",
                subject=experiment.experiment_id,
                details={
                    "name": spec.name,
                    "challenger": spec.challenger_version,
                    "champion": experiment.champion_version,
                    "champion_pointer_revision": str(experiment.champion_pointer_revision),
                    "approvals_required": str(stored_spec.approvals_required),
                },
            )
            try:
                await self._audit.commit(
                    draft,
                    [KeyAbsent(key), KeyAt(self._keys.pointer, pointer.revision)],
                    [Put(key, encode(experiment))],
                )
            except ConflictError:
                continue  # the pointer moved (or the id was taken): capture the champion anew
            experiment.state = records_pb2.EXPERIMENT_STATE_CREATED
            return experiment
        raise ConflictError([], "the serving pointer kept moving while creating the experiment")

    async def get(
        self, experiment_id: str
    ) -> tuple[records_pb2.Experiment, records_pb2.Evaluation | None, list[records_pb2.Review]]:
        require(experiment_id, "experiment_id")
        records = await self._records.experiment(experiment_id)
        return with_state(records), records.evaluation, list(records.reviews)

    async def list(
        self, state: records_pb2.ExperimentState.ValueType
    ) -> list[records_pb2.Experiment]:
        """Every experiment, oldest first; only those in `state` unless it is UNSPECIFIED."""
        result = [
            with_state(records)
            for records in await self._records.experiments()
            if state == records_pb2.EXPERIMENT_STATE_UNSPECIFIED or derive_state(records) == state
        ]
        return sorted(result, key=lambda e: (e.created_at.ToNanoseconds(), e.experiment_id))
