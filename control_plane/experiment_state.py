"""An experiment's records, read together, and the state derived from them.

The state is never stored: it follows from the immutable records, so it cannot
disagree with them. Precedence: a promotion is final; a rejection by any
reviewer stops the experiment; otherwise the evaluation and the count of
distinct approving reviewers decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from recmesh.api.controlplane.v1 import records_pb2

State = records_pb2.ExperimentState


@dataclass(frozen=True)
class ExperimentRecords:
    """Everything recorded about one experiment, read at one etcd revision.

    `evaluation_mod_revision` is 0 when there is no evaluation; `pointer` is the
    serving pointer at `revision` (None before the first baseline).
    """

    experiment: records_pb2.Experiment
    evaluation: records_pb2.Evaluation | None
    evaluation_mod_revision: int
    reviews: tuple[records_pb2.Review, ...]
    promotion_exists: bool
    pointer: records_pb2.ServingPointer | None
    revision: int
    #: The pointer revisions at which the current champion served
    #: (`champion_lineage.champion_revisions`); None: the pointer's own revision only.
    champion_revisions: frozenset[int] | None = None
    #: The experiment's staged rollout (None: it never had one) and its key's
    #: mod_revision (0 without one), the guard of a decision that read it.
    rollout: records_pb2.RolloutRecord | None = None
    rollout_mod_revision: int = 0

    def champion_served_at(self, revision: int) -> bool:
        """Whether the champion now serving is the one the pointer named at `revision`
        (records since then only changed the challenger beside it)."""
        if self.pointer is None:
            return False
        if self.champion_revisions is not None:
            return revision in self.champion_revisions
        return revision == self.pointer.revision


def approvals_required(experiment: records_pb2.Experiment) -> int:
    return experiment.spec.approvals_required or 1


def approvers(reviews: tuple[records_pb2.Review, ...]) -> list[str]:
    """Distinct authors of approvals, in the order they first approved."""
    names: list[str] = []
    for review in reviews:
        if review.verdict == records_pb2.REVIEW_VERDICT_APPROVE and review.author not in names:
            names.append(review.author)
    return names


def first_rejection(reviews: tuple[records_pb2.Review, ...]) -> records_pb2.Review | None:
    for review in reviews:
        if review.verdict == records_pb2.REVIEW_VERDICT_REJECT:
            return review
    return None


def derive_state(records: ExperimentRecords) -> State.ValueType:
    if records.promotion_exists:
        return records_pb2.EXPERIMENT_STATE_PROMOTED
    if first_rejection(records.reviews) is not None:
        return records_pb2.EXPERIMENT_STATE_REJECTED
    if records.evaluation is None:
        return records_pb2.EXPERIMENT_STATE_CREATED
    if records.evaluation.verdict != records_pb2.VERDICT_PASS:
        return records_pb2.EXPERIMENT_STATE_FAILED
    if len(approvers(records.reviews)) >= approvals_required(records.experiment):
        return records_pb2.EXPERIMENT_STATE_APPROVED
    return records_pb2.EXPERIMENT_STATE_PASSED


def with_state(records: ExperimentRecords) -> records_pb2.Experiment:
    """A copy of the experiment record with its derived state filled in."""
    experiment = records_pb2.Experiment()
    experiment.CopyFrom(records.experiment)
    experiment.state = derive_state(records)
    return experiment
