"""Experiment state is derived from the records, with promotion and rejection first."""

from __future__ import annotations

import pytest

from control_plane.experiment_state import ExperimentRecords, approvers, derive_state
from recmesh.api.controlplane.v1 import records_pb2

APPROVE = records_pb2.REVIEW_VERDICT_APPROVE
REJECT = records_pb2.REVIEW_VERDICT_REJECT
COMMENT = records_pb2.REVIEW_VERDICT_COMMENT


def _records(
    verdict: int | None,
    reviews: tuple[tuple[str, int], ...] = (),
    promoted: bool = False,
    required: int = 1,
) -> ExperimentRecords:
    return ExperimentRecords(
        experiment=records_pb2.Experiment(
            experiment_id="exp-1",
            spec=records_pb2.ExperimentSpec(approvals_required=required),
        ),
        evaluation=None if verdict is None else records_pb2.Evaluation(verdict=verdict),  # type: ignore[arg-type]
        evaluation_mod_revision=0 if verdict is None else 5,
        reviews=tuple(
            records_pb2.Review(author=author, verdict=v)  # type: ignore[arg-type]
            for author, v in reviews
        ),
        promotion_exists=promoted,
        pointer=None,
        revision=10,
    )


@pytest.mark.parametrize(
    ("records", "state"),
    [
        (_records(None), records_pb2.EXPERIMENT_STATE_CREATED),
        (_records(None, (("bob", COMMENT),)), records_pb2.EXPERIMENT_STATE_CREATED),
        (_records(records_pb2.VERDICT_FAIL), records_pb2.EXPERIMENT_STATE_FAILED),
        (_records(records_pb2.VERDICT_PASS), records_pb2.EXPERIMENT_STATE_PASSED),
        (
            _records(records_pb2.VERDICT_PASS, (("bob", APPROVE),)),
            records_pb2.EXPERIMENT_STATE_APPROVED,
        ),
        (
            _records(records_pb2.VERDICT_PASS, (("bob", APPROVE), ("bob", APPROVE)), required=2),
            records_pb2.EXPERIMENT_STATE_PASSED,
        ),
        (
            _records(records_pb2.VERDICT_PASS, (("bob", APPROVE), ("dana", REJECT))),
            records_pb2.EXPERIMENT_STATE_REJECTED,
        ),
        (
            _records(records_pb2.VERDICT_PASS, (("bob", APPROVE),), promoted=True),
            records_pb2.EXPERIMENT_STATE_PROMOTED,
        ),
    ],
)
def test_state_follows_from_records(records: ExperimentRecords, state: int) -> None:
    """CREATED -> PASSED/FAILED -> APPROVED/REJECTED -> PROMOTED, from the records alone."""
    assert derive_state(records) == state


def test_approvers_are_distinct_in_first_approval_order() -> None:
    """An author approving twice counts once; comments and rejections never count."""
    records = _records(
        records_pb2.VERDICT_PASS,
        (("dana", APPROVE), ("bob", COMMENT), ("dana", APPROVE), ("bob", APPROVE)),
    )
    assert approvers(records.reviews) == ["dana", "bob"]
