"""The span tree of one trace, read from the span file that every process appends to."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from recmesh.traces.span_tree import (
    build_tree,
    is_complete,
    read_trace,
    render_tree,
    wait_for_trace,
)

TRACE = "0af7651916cd43dd8448eb211c80319c"


def span(span_id: str, parent: str, kind: str, service: str, start: int) -> dict[str, Any]:
    return {
        "trace_id": TRACE,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": f"/x.{service}/Call",
        "kind": kind,
        "service": service,
        "start_ns": start,
        "end_ns": start + 1_000_000,
        "status": "UNSET",
        "status_description": "",
        "attributes": {},
    }


FRONT = span("a" * 16, "", "SERVER", "recommend", 1)
CALL = span("b" * 16, "a" * 16, "CLIENT", "recommend", 2)
DOWNSTREAM = span("c" * 16, "b" * 16, "SERVER", "candidates", 3)


def write(path: Path, *records: dict[str, Any]) -> None:
    with path.open("a") as lines:
        for record in records:
            lines.write(json.dumps(record) + "\n")


def test_a_client_call_without_its_server_side_is_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    write(path, FRONT, CALL)
    assert not is_complete(build_tree(read_trace(path, TRACE)))
    write(path, DOWNSTREAM, span("d" * 16, "", "SERVER", "other", 4) | {"trace_id": "f" * 32})
    roots = build_tree(read_trace(path, TRACE))
    assert is_complete(roots)
    assert [child.record["service"] for child in roots[0].children[0].children] == ["candidates"]


def test_two_roots_are_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    write(path, CALL, DOWNSTREAM)  # the front's span has not arrived: CALL becomes a root
    write(path, span("e" * 16, "", "SERVER", "recommend", 0))
    assert not is_complete(build_tree(read_trace(path, TRACE)))


def test_wait_for_trace_reads_again_until_the_late_hop_arrives(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    write(path, FRONT, CALL)
    late = threading.Timer(0.3, write, args=(path, DOWNSTREAM))
    late.start()
    try:
        roots = wait_for_trace(path, TRACE, timeout_s=10.0, poll_s=0.02)
    finally:
        late.join()
    assert is_complete(roots)


def test_wait_for_trace_returns_what_it_has_when_time_runs_out(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    write(path, FRONT, CALL)
    roots = wait_for_trace(path, TRACE, timeout_s=0.2, poll_s=0.02)
    assert len(roots) == 1
    assert not is_complete(roots)


def _with_call(record: dict[str, Any], name: str, code: int) -> dict[str, Any]:
    """`record` with one call event (as recmesh.telemetry.traced_stub records it)."""
    attributes: dict[str, Any] = {"rpc.grpc.status_code": code, "recmesh.call_ms": 0.5}
    if code:
        attributes["recmesh.call_error"] = "UNAVAILABLE: connection refused"
    event = {"name": name, "time_ns": record["start_ns"] + 1, "attributes": attributes}
    return record | {"events": [*record.get("events", []), event]}


def test_a_call_event_without_its_server_span_is_incomplete(tmp_path: Path) -> None:
    """The front's span records its call as an event: until the callee's SERVER span
    (named after the method) arrives, the trace is incomplete."""
    path = tmp_path / "spans.jsonl"
    front = _with_call(FRONT, "/x.candidates/Call", 0)
    write(path, front)
    assert not is_complete(build_tree(read_trace(path, TRACE)))
    write(path, span("c" * 16, "a" * 16, "SERVER", "candidates", 3))
    roots = build_tree(read_trace(path, TRACE))
    assert is_complete(roots)
    lines = render_tree(roots).splitlines()
    assert lines[1].split()[:3] == ["->", "call", "/x.candidates/Call"]
    assert lines[1].endswith("0.50 ms  OK")
    assert lines[2].split()[0] == "candidates"


def test_a_failed_call_needs_no_server_span(tmp_path: Path) -> None:
    """A call that failed may never have reached a server: nothing is awaited for it,
    and the tree shows why it failed."""
    path = tmp_path / "spans.jsonl"
    write(path, _with_call(FRONT, "/x.candidates/Call", 14))
    roots = build_tree(read_trace(path, TRACE))
    assert is_complete(roots)
    assert render_tree(roots).splitlines()[1].endswith("UNAVAILABLE: connection refused")


def test_two_calls_to_one_method_wait_for_two_server_spans(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    twice = _with_call(_with_call(FRONT, "/x.candidates/Call", 0), "/x.candidates/Call", 0)
    write(path, twice, span("c" * 16, "a" * 16, "SERVER", "candidates", 3))
    assert not is_complete(build_tree(read_trace(path, TRACE)))
    write(path, span("e" * 16, "a" * 16, "SERVER", "candidates", 4))
    assert is_complete(build_tree(read_trace(path, TRACE)))
