"""bench/span_breakdown.py: the parts of a single-stream Recommend, from a span file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.span_breakdown import breakdown

MS = 1_000_000


def _span(
    service: str,
    kind: str,
    method: str,
    start_ms: float,
    end_ms: float,
    calls: tuple[tuple[str, float, float], ...] = (),
) -> str:
    """A span record; `calls` are (method, start ms, end ms) events of calls it made."""
    record: dict[str, object] = {
        "trace_id": "t",
        "service": f"recmesh-{service}",
        "kind": kind,
        "name": f"/recmesh.x.v1.Service/{method}",
        "start_ns": int(start_ms * MS),
        "end_ns": int(end_ms * MS),
    }
    if calls:
        record["events"] = [
            {
                "name": f"/recmesh.x.v1.Service/{name}",
                "time_ns": int(start * MS),
                "attributes": {"rpc.grpc.status_code": 0, "recmesh.call_ms": end - start},
            }
            for name, start, end in calls
        ]
    return json.dumps(record)


def _one_request(at_ms: float) -> list[str]:
    """A Recommend at at_ms whose parts last whole milliseconds; its calls are events."""
    t = at_ms
    return [
        _span(
            "recommend",
            "SERVER",
            "Recommend",
            t,
            t + 20,
            (("GetCandidates", t + 1, t + 5), ("Rank", t + 6, t + 18)),
        ),
        _span("candidates", "SERVER", "GetCandidates", t + 2, t + 4),
        _span("ranking", "SERVER", "Rank", t + 7, t + 17, (("GetFeatures", t + 8, t + 13),)),
        _span("features", "SERVER", "GetFeatures", t + 9, t + 11),
    ]


def _one_request_with_client_spans(at_ms: float) -> list[str]:
    """The same request as revisions before the call events recorded it."""
    t = at_ms
    return [
        _span("recommend", "SERVER", "Recommend", t, t + 20),
        _span("recommend", "CLIENT", "GetCandidates", t + 1, t + 5),
        _span("candidates", "SERVER", "GetCandidates", t + 2, t + 4),
        _span("recommend", "CLIENT", "Rank", t + 6, t + 18),
        _span("ranking", "SERVER", "Rank", t + 7, t + 17),
        _span("ranking", "CLIENT", "GetFeatures", t + 8, t + 13),
        _span("features", "SERVER", "GetFeatures", t + 9, t + 11),
    ]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("request_at", [_one_request, _one_request_with_client_spans])
def test_each_hop_is_its_call_minus_its_server_span(
    tmp_path: Path, request_at: Callable[[float], list[str]]
) -> None:
    spans = _write(tmp_path / "spans.jsonl", request_at(1000) + request_at(1100))

    parts = breakdown(spans, 0, 2000 * MS)

    assert parts["recommend -> candidates hop"] == pytest.approx(2.0)
    assert parts["recommend -> ranking hop"] == pytest.approx(2.0)
    assert parts["ranking -> features hop"] == pytest.approx(3.0)
    assert parts["candidates server span"] == pytest.approx(2.0)
    assert parts["features server span"] == pytest.approx(2.0)
    assert parts["recommend own work"] == pytest.approx(20 - 4 - 12)
    assert parts["ranking own work"] == pytest.approx(10 - 5)


def test_only_spans_that_start_inside_the_window_count(tmp_path: Path) -> None:
    slow = [
        _span("recommend", "SERVER", "Recommend", 5000, 5100),
        _span("candidates", "SERVER", "GetCandidates", 5001, 5090),
    ]
    spans = _write(tmp_path / "spans.jsonl", _one_request(1000) + slow)

    parts = breakdown(spans, 1000 * MS, 2000 * MS)

    assert parts["recommend server span"] == pytest.approx(20.0)
    assert parts["candidates server span"] == pytest.approx(2.0)


def test_a_missing_hop_gives_no_breakdown(tmp_path: Path) -> None:
    without_features = [line for line in _one_request(1000) if "features" not in line]
    spans = _write(tmp_path / "spans.jsonl", without_features)

    assert breakdown(spans, 0, 2000 * MS) == {}
