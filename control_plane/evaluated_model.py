"""The model promoted is the model evaluated, served with all the data the experiment saw.

An evaluation names the sha256 of the model file its challenger arm scored with.
The challenger version registered for the experiment must hold exactly that file,
and its snapshot must be built from the experiment's whole dataset (TRAIN and
TEST): the model is evaluated with a snapshot of TRAIN only, but a serving snapshot
that lacks the held-out rows would recommend what users already rated.
RecordEvaluation refuses an evaluation that breaks either rule, and Promote checks
them again against the records it promotes.
"""

from __future__ import annotations

from recmesh.api.controlplane.v1 import records_pb2


def evaluated_model_mismatch(
    evaluation: records_pb2.Evaluation,
    challenger: records_pb2.ModelVersion,
    experiment_dataset_fingerprint: str,
) -> str | None:
    """Why `challenger` does not serve what `evaluation` measured, or None."""
    if evaluation.challenger_model_sha256 != challenger.model_sha256:
        evaluated = evaluation.challenger_model_sha256 or "no model (a baseline)"
        registered = challenger.model_sha256 or "no model (a baseline)"
        return (
            f"the evaluation scored model {evaluated}, but challenger "
            f"{challenger.version_id} serves {registered}: the model promoted must be the "
            "model evaluated"
        )
    snapshot_data = challenger.lineage.dataset_fingerprint
    if snapshot_data != experiment_dataset_fingerprint:
        return (
            f"challenger {challenger.version_id}'s snapshot is built from data "
            f"{snapshot_data[:12]}, not from the experiment's whole dataset "
            f"{experiment_dataset_fingerprint[:12]}: serving it would forget part of each "
            "user's history"
        )
    return None
