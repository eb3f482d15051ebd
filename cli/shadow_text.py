"""The headline figures of a shadow report summary (offline.shadow.report.summary), with
their intervals: what `recmesh shadow report` prints and `recmesh experiment show`
shows of an attached report."""

from __future__ import annotations

import json
from typing import Any

from cli.output import when

#: (summary key, label), in the order printed.
_AGREEMENT = (
    ("overlap", "overlap@k"),
    ("rbo", "rank-biased overlap"),
    ("novel_share", "novel share"),
)
_ARMS = (
    ("latency_ms", "latency ms"),
    ("error_rate", "error rate"),
    ("hit_rate", "hit rate"),
    ("popularity", "popularity"),
    ("mean_score", "mean score"),
)


def shadow_lines(summary: dict[str, Any], indent: str = "  ") -> list[str]:
    lines = [
        f"{indent}requests    {summary.get('requests', '?')} shadowed, "
        f"{summary.get('compared', '?')} compared at k={summary.get('k', '?')}"
    ]
    for key, label in _AGREEMENT:
        value = summary.get(key)
        if isinstance(value, dict):
            interval = f"[{value['low']:.4f}, {value['high']:.4f}]"
            lines.append(f"{indent}{label:<20} {value['value']:.4f} {interval}")
    for key, label in _ARMS:
        value = summary.get(key)
        if isinstance(value, dict):
            interval = (
                "" if value.get("low") is None else f" [{value['low']:+.4f}, {value['high']:+.4f}]"
            )
            lines.append(
                f"{indent}{label:<20} champion {value['champion']:.4f}, challenger "
                f"{value['challenger']:.4f}, delta {value['delta']:+.4f}{interval}"
            )
    return lines


def attached_source(attached: Any) -> str:
    """Who computed an attached ShadowReportSummary, and whether it may meet shadow bounds."""
    from recmesh.api.controlplane.v1 import records_pb2

    if attached.source == records_pb2.SHADOW_REPORT_SOURCE_CONTROL_PLANE:
        rollout = f", shadow {attached.rollout_id}" if attached.rollout_id else ""
        return (
            f"computed by the control plane for {attached.challenger_version}{rollout}; "
            "usable for shadow bounds"
        )
    return "supplied by the caller; not usable for shadow bounds"


def attached_report_lines(attached: Any) -> list[str]:
    """An attached ShadowReportSummary: who attached which page, who computed it, and its
    headline figures."""
    head = (
        f"  shadow      report {attached.report_sha256[:12]} attached by {attached.attached_by} "
        f"at {when(attached.attached_at)} ({attached_source(attached)})"
    )
    try:
        summary = json.loads(attached.summary_json)
    except json.JSONDecodeError:
        return [head, "    (its summary is not JSON)"]
    return [head, *shadow_lines(summary if isinstance(summary, dict) else {}, indent="    ")]
