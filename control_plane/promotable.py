"""Whether an experiment's challenger may go live now: the checks Promote, StartShadow and
a staged Promote share.

All of them need the same evidence before a challenger answers, or is even ranked for,
real users: the promotion rule (`promotion.promotion_refusal`: PASS derived from the
evidence, no rejection, no staged rollout of it that did not complete, enough approvals,
champion unchanged since the evaluation, not promoted yet), then the registered
challenger model being the one evaluated on the experiment's data and keeping every log
row the champion serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.evaluated_model import evaluated_model_mismatch
from control_plane.experiment_state import ExperimentRecords
from control_plane.promotion_rule import promotion_refusal
from control_plane.served_data import forgotten_log_rows
from control_plane.store.records import RecordReader
from control_plane.store.txn import Guard, KeyAbsent, KeyAt, NothingCreatedAfter
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import FailedPreconditionError


@dataclass(frozen=True)
class Promotable:
    """An experiment that passed every check, with what passed them, read at one revision."""

    records: ExperimentRecords
    evaluation: records_pb2.Evaluation
    #: The verified pointer record now serving the champion.
    champion: records_pb2.ServingPointer
    challenger: records_pb2.ModelVersion

    def unchanged(self, keys: KeySchema) -> list[Guard]:
        """The guards of a write decided on these checks: the pointer, the evaluation and
        the experiment's rollout record as read, no promotion recorded, no review written
        since. Each writer adds its own keys to them."""
        experiment_id = self.records.experiment.experiment_id
        return [
            KeyAt(keys.pointer, self.champion.revision),
            KeyAt(keys.evaluation(experiment_id), self.records.evaluation_mod_revision),
            KeyAbsent(keys.promotion(experiment_id)),
            KeyAt(keys.rollout(experiment_id), self.records.rollout_mod_revision),
            NothingCreatedAfter(keys.reviews_prefix(experiment_id), self.records.revision),
        ]


async def promotable(reader: RecordReader, experiment_id: str) -> Promotable:
    """The experiment's records when its challenger may go live; FailedPreconditionError
    naming the first check that fails otherwise."""
    records = await reader.experiment(experiment_id)
    refusal = promotion_refusal(records)
    if refusal is not None:
        raise FailedPreconditionError(refusal)
    evaluation = records.evaluation
    champion = records.pointer
    # promotion_refusal returned None, so both exist.
    assert evaluation is not None
    assert champion is not None
    challenger = await reader.model(evaluation.challenger_version)
    mismatch = evaluated_model_mismatch(
        evaluation, challenger, records.experiment.spec.dataset_fingerprint
    )
    champion_model = await reader.find_model(champion.serving_version)
    if mismatch is None and champion_model is not None:
        mismatch = forgotten_log_rows(champion_model, challenger)
    if mismatch is not None:
        raise FailedPreconditionError(mismatch)
    return Promotable(records, evaluation, champion, challenger)
