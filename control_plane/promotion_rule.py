"""The promotion rule: when an experiment's challenger may replace the champion.

Pure on the experiment's records read at one revision (`ExperimentRecords`), so Promote,
StartShadow and a staged Promote judge exactly alike (`promotable.promotable`).
"""

from __future__ import annotations

from control_plane.experiment_state import (
    ExperimentRecords,
    approvals_required,
    approvers,
    first_rejection,
)
from control_plane.verdicts import derive_verdict
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rpc.errors import InvalidArgumentError


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
    if pointer is None or not records.champion_served_at(evaluation.champion_pointer_revision):
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
