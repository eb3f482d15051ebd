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
    evidence that says otherwise), not rejected, no staged rollout that did not complete
    (`unfinished_rollout`), enough approvals, not promoted yet, champion unchanged since
    the evaluation. Raises CorruptRecordError (DATA_LOSS) for a
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
    if records.rollout is not None:
        unfinished = unfinished_rollout(experiment_id, records.rollout)
        if unfinished is not None:
            return unfinished
    approved = len(approvers(records.reviews))
    needed = approvals_required(records.experiment)
    if approved < needed:
        return f"not enough approvals: {approved} of {needed}"
    # Before the champion check: once promoted, the challenger is the champion, and
    # "already promoted" is what happened, not "the champion changed".
    if records.promotion_exists:
        return f"experiment {experiment_id} was already promoted"
    pointer = records.pointer
    if pointer is None or not records.champion_served_at(evaluation.champion_pointer_revision):
        return champion_changed(evaluation, pointer)
    return None


def unfinished_rollout(experiment_id: str, rollout: records_pb2.RolloutRecord) -> str | None:
    """Why the experiment's staged rollout keeps it from going live another way, or None
    when it completed (then the promotion record says it was promoted).

    A running or paused rollout promotes by itself through its plan; one that was rolled
    back or stopped found, or could not rule out, harm on live traffic, and its
    evaluation cannot vouch for the challenger again: an unstaged Promote would put it in
    front of every user at once. A new attempt needs a new experiment.
    """
    status = rollout.status
    if status == records_pb2.ROLLOUT_STATUS_COMPLETED:
        return None
    where = f"experiment {experiment_id}'s staged rollout {rollout.rollout_id}"
    if status in (records_pb2.ROLLOUT_STATUS_RUNNING, records_pb2.ROLLOUT_STATUS_PAUSED):
        running = status == records_pb2.ROLLOUT_STATUS_RUNNING
        state, finish = (
            ("running", "let it finish")
            if running
            else ("paused", f"resume it (`recmesh rollout resume {experiment_id}`) to finish")
        )
        return (
            f"{where} is {state} at stage {rollout.stage}: it promotes by itself when its "
            f"stages hold (`recmesh rollout status {experiment_id}`); {finish}, or end it "
            "with `recmesh rollback`, after which a new attempt needs a new experiment"
        )
    ended = {
        records_pb2.ROLLOUT_STATUS_ROLLED_BACK: "was rolled back",
        records_pb2.ROLLOUT_STATUS_STOPPED: "was stopped",
    }.get(status, f"ended with status {status}")
    return (
        f"{where} {ended}: {rollout.ended_reason or 'no reason recorded'}; its evaluation "
        "cannot send this challenger live again: a new attempt needs a new experiment "
        "(and a new evaluation)"
    )


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
