"""shadow_bounds_refusal: which attached report counts, and how an interval meets a bound."""

from __future__ import annotations

import json

from control_plane.shadow_bounds import shadow_bounds_refusal
from recmesh.api.controlplane.v1 import records_pb2

OVERLAP_MIN = records_pb2.ShadowDiffBound(statistic="overlap", side="min", value=0.5)


def _computed(
    summary: dict[str, object], challenger: str = "v2"
) -> records_pb2.ShadowReportSummary:
    return records_pb2.ShadowReportSummary(
        experiment_id="exp-1",
        summary_json=json.dumps(summary),
        source=records_pb2.SHADOW_REPORT_SOURCE_CONTROL_PLANE,
        challenger_version=challenger,
        attached_by="alice",
    )


def test_the_whole_interval_of_a_computed_report_must_clear_the_bound() -> None:
    """low 0.4 misses min 0.5 (named with the figures); low 0.55 meets it."""
    missed = _computed({"overlap": {"value": 0.6, "low": 0.4, "high": 0.8}})
    assert shadow_bounds_refusal([OVERLAP_MIN], missed, "exp-1", "v2") == (
        "shadow bound on overlap not met: 0.6 [0.4, 0.8] in the attached report, its low end "
        "0.4 is below the minimum 0.5"
    )
    met = _computed({"overlap": {"value": 0.7, "low": 0.55, "high": 0.8}})
    assert shadow_bounds_refusal([OVERLAP_MIN], met, "exp-1", "v2") is None


def test_a_caller_supplied_or_unmarked_summary_never_meets_a_bound() -> None:
    """A summary the caller wrote, or one attached before the source was recorded, is
    refused for bounds, saying how to have the control plane compute it."""
    good: dict[str, object] = {"overlap": {"value": 0.9, "low": 0.85, "high": 0.95}}
    for source in (
        records_pb2.SHADOW_REPORT_SOURCE_CALLER,
        records_pb2.SHADOW_REPORT_SOURCE_UNSPECIFIED,
    ):
        report = _computed(good)
        report.source = source
        refusal = shadow_bounds_refusal([OVERLAP_MIN], report, "exp-1", "v2")
        assert refusal is not None
        assert "not computed by the control plane" in refusal
        assert "recmesh shadow report exp-1 --attach" in refusal


def test_a_report_of_another_challenger_is_refused() -> None:
    """Computed here, but comparing another challenger than the experiment's."""
    report = _computed({"overlap": {"value": 0.9, "low": 0.85, "high": 0.95}}, challenger="v9")
    refusal = shadow_bounds_refusal([OVERLAP_MIN], report, "exp-1", "v2")
    assert refusal is not None
    assert "compares challenger v9 of experiment exp-1, not experiment exp-1's challenger v2" in (
        refusal
    )
