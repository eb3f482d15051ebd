"""Builds and prints the span tree of one trace from the span file."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SpanNode:
    record: dict[str, Any]
    children: list[SpanNode] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return (int(self.record["end_ns"]) - int(self.record["start_ns"])) / 1e6


def read_trace(span_file: Path, trace_id: str) -> list[dict[str, Any]]:
    """Every span of trace_id in the file, in start order."""
    spans = []
    with span_file.open() as lines:
        for line in lines:
            if trace_id in line:
                record = json.loads(line)
                if record.get("trace_id") == trace_id:
                    spans.append(record)
    return sorted(spans, key=lambda r: int(r["start_ns"]))


def build_tree(spans: list[dict[str, Any]]) -> list[SpanNode]:
    """Roots of the tree; a span whose parent is not in the file becomes a root."""
    nodes = {s["span_id"]: SpanNode(s) for s in spans}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.record["parent_span_id"])
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    return roots


def calls(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The calls a span made (recmesh.telemetry.traced_stub's events: name = method)."""
    return [e for e in record.get("events", ()) if str(e.get("name", "")).startswith("/")]


def is_complete(roots: list[SpanNode]) -> bool:
    """True when the trace has one root and every call that succeeded has its server
    side (a child span named after the method, one per call; a CLIENT span, a child): the
    processes of a mesh flush spans on their own schedules, so a trace read too early
    lacks the later hops."""
    if len(roots) != 1:
        return False

    def whole(node: SpanNode) -> bool:
        if node.record.get("kind") == "CLIENT" and not node.children:
            return False
        served = Counter(child.record["name"] for child in node.children)
        answered = Counter(
            call["name"]
            for call in calls(node.record)
            if call.get("attributes", {}).get("rpc.grpc.status_code") == 0
        )
        if any(served[name] < count for name, count in answered.items()):
            return False
        return all(whole(child) for child in node.children)

    return whole(roots[0])


def wait_for_trace(
    span_file: Path, trace_id: str, timeout_s: float, poll_s: float = 0.1
) -> list[SpanNode]:
    """The trace's span tree, read again until it is complete or `timeout_s` passes;
    what was found by then otherwise (possibly nothing)."""
    deadline = time.monotonic() + timeout_s
    while True:
        roots = build_tree(read_trace(span_file, trace_id)) if span_file.exists() else []
        if is_complete(roots) or time.monotonic() >= deadline:
            return roots
        time.sleep(poll_s)


def render_tree(roots: list[SpanNode]) -> str:
    """One line per span (indentation, service, span name (the method), duration,
    status) and one per call it made (`-> method`, the call's duration and status),
    in start order."""
    lines: list[str] = []

    def walk(node: SpanNode, depth: int) -> None:
        record = node.record
        status = record["status"]
        if record.get("status_description"):
            status += f" ({record['status_description']})"
        lines.append(
            f"{'  ' * depth}{record['service']:<22} {record['name']:<60} "
            f"{node.duration_ms:8.2f} ms  {status}"
        )
        below: list[tuple[int, SpanNode | dict[str, Any]]] = [
            (int(child.record["start_ns"]), child) for child in node.children
        ]
        below += [(int(call["time_ns"]), call) for call in calls(record)]
        for _, item in sorted(below, key=lambda pair: pair[0]):
            if isinstance(item, SpanNode):
                walk(item, depth + 1)
            else:
                lines.append(_call_line(item, depth + 1))

    for root in roots:
        walk(root, 0)
    return "\n".join(lines)


def _call_line(call: dict[str, Any], depth: int) -> str:
    attributes = call.get("attributes", {})
    code = attributes.get("rpc.grpc.status_code")
    status = "OK" if code == 0 else str(attributes.get("recmesh.call_error", f"code {code}"))
    return (
        f"{'  ' * depth}{'-> call':<22} {call['name']:<60} "
        f"{float(attributes.get('recmesh.call_ms', 0.0)):8.2f} ms  {status}"
    )
