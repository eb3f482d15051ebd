"""The shadow-diff bounds a staged plan declares, checked against the attached report.

Only a report the control plane computed itself (AttachShadowReport with an empty
summary: SHADOW_REPORT_SOURCE_CONTROL_PLANE) for the experiment's challenger counts: a
summary the caller supplied is whatever the caller wrote, so it cannot let a rollout
start.

A bound names a top-level key of the report's flat summary (offline.shadow.report,
such as overlap or rbo) and a side. An interval statistic ({value, low, high},
such as overlap or rbo) or a difference between arms ({champion, challenger, delta, low,
high}, such as error_rate or hit_rate) is judged by its interval: "min" needs low >= the
bound, "max" needs high <= it, so the whole interval must clear the bound. A plain
number (such as score_ks or novel_item_share) is judged by itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from recmesh.api.controlplane.v1 import records_pb2


def shadow_bounds_refusal(
    bounds: Sequence[records_pb2.ShadowDiffBound],
    report: records_pb2.ShadowReportSummary | None,
    experiment_id: str,
    challenger_version: str,
) -> str | None:
    """Why the plan's shadow bounds refuse the rollout, or None when every one holds (or
    the plan has none). Names the statistic and the figures, or why the attached report
    cannot be used."""
    if not bounds:
        return None
    wanted = ", ".join(f"{b.statistic} {b.side} {b.value:g}" for b in bounds)
    compute = (
        f"have the control plane compute and attach it: `recmesh shadow report "
        f"{experiment_id} --attach` (without --impressions)"
    )
    if report is None:
        return (
            f"the plan bounds the shadow diff ({wanted}) but no shadow report is attached to "
            f"the experiment; {compute}"
        )
    if report.source != records_pb2.SHADOW_REPORT_SOURCE_CONTROL_PLANE:
        return (
            f"the plan bounds the shadow diff ({wanted}) but the attached report was "
            f"supplied by {report.attached_by or 'its caller'}, not computed by the control "
            f"plane, so it cannot vouch for the bounds; {compute}"
        )
    if report.experiment_id != experiment_id or report.challenger_version != challenger_version:
        return (
            f"the attached shadow report compares challenger "
            f"{report.challenger_version or '(none recorded)'} of experiment "
            f"{report.experiment_id}, not experiment {experiment_id}'s challenger "
            f"{challenger_version}; {compute}"
        )
    try:
        summary = json.loads(report.summary_json)
    except json.JSONDecodeError as exc:
        return f"the attached shadow report's summary is not JSON ({exc}); attach it again"
    if not isinstance(summary, dict):
        return "the attached shadow report's summary is not a JSON object; attach it again"
    for bound in bounds:
        refusal = _bound_refusal(bound, summary.get(bound.statistic))
        if refusal is not None:
            return refusal
    return None


def _bound_refusal(bound: records_pb2.ShadowDiffBound, value: Any) -> str | None:
    name = bound.statistic
    if isinstance(value, bool) or value is None:
        return f"shadow bound on {name}: the attached report has no value for it"
    if isinstance(value, int | float):
        low = high = float(value)
        shown = f"{value:g}"
    elif isinstance(value, dict) and "low" in value and "high" in value:
        if value["low"] is None or value["high"] is None:
            return f"shadow bound on {name}: the attached report has no interval for it"
        low, high = float(value["low"]), float(value["high"])
        point = value.get("value", value.get("delta"))
        shown = f"{point:g} [{low:g}, {high:g}]" if point is not None else f"[{low:g}, {high:g}]"
    else:
        return f"shadow bound on {name}: the attached report's {name} is not a number or interval"
    if bound.side == "min" and low < bound.value:
        return (
            f"shadow bound on {name} not met: {shown} in the attached report, its low end "
            f"{low:g} is below the minimum {bound.value:g}"
        )
    if bound.side == "max" and high > bound.value:
        return (
            f"shadow bound on {name} not met: {shown} in the attached report, its high end "
            f"{high:g} is above the maximum {bound.value:g}"
        )
    return None
