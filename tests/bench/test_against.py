"""bench/against.py's arithmetic on synthetic figures: ratios new/old, degraded and
error shares, the highest rate held, the single stream against the floor sum, and the
section it writes."""

from __future__ import annotations

from typing import Any

import pytest

from bench.against import (
    FIGURES,
    highest_held,
    markdown,
    ratio,
    ratios,
    shares,
    single_stream_summary,
)


def _run(
    rate: float, p50: float, p99: float, cpu: float, degraded: int = 0, errors: int = 0
) -> dict[str, Any]:
    requests = int(rate * 10)
    answered = requests - errors
    result: dict[str, Any] = {
        "offered_rps": rate,
        "requests": requests,
        "answered": answered,
        "achieved_rps": answered / 10,
        "p50_ms": p50,
        "p99_ms": p99,
        "cpu_ms_per_request": cpu,
        "degraded": {"DEADLINE": degraded} if degraded else {},
        "errors": {"UNAVAILABLE": errors} if errors else {},
        "loadgen_cpu_ms_per_request": 0.5,
    }
    result.update(shares(result))
    return result


def test_ratio_is_new_over_old_and_none_when_undefined() -> None:
    assert ratio(3.0, 4.0) == pytest.approx(0.75)
    assert ratio(8.0, 2.0) == pytest.approx(4.0)
    assert ratio(1.0, 0.0) is None
    assert ratio(None, 2.0) is None
    assert ratio(2.0, None) is None
    assert ratio(float("nan"), 2.0) is None


def test_ratios_compare_every_figure_new_over_old() -> None:
    old = _run(200, p50=10.0, p99=40.0, cpu=8.0, degraded=4)
    new = _run(200, p50=5.0, p99=10.0, cpu=6.0, degraded=2)
    got = ratios(new, old)
    assert set(got) == set(FIGURES)
    assert got["p50_ms"] == pytest.approx(0.5)
    assert got["p99_ms"] == pytest.approx(0.25)
    assert got["cpu_ms_per_request"] == pytest.approx(0.75)
    assert got["achieved_rps"] == pytest.approx(1.0)
    assert got["degraded_share"] == pytest.approx(0.5)
    assert got["error_share"] is None  # neither had errors: 0 / 0
    assert got["loadgen_cpu_ms_per_request"] == pytest.approx(1.0)


def test_shares_are_per_answer_and_per_request() -> None:
    r = _run(100, 1, 2, 3, degraded=9, errors=100)  # 1000 sent, 900 answered
    assert r["degraded_share"] == pytest.approx(9 / 900)
    assert r["error_share"] == pytest.approx(100 / 1000)
    nothing = {"requests": 10, "answered": 0, "degraded": {}, "errors": {"UNAVAILABLE": 10}}
    assert shares(nothing) == {"degraded_share": 1.0, "error_share": 1.0}


def test_the_highest_rate_held_needs_p99_degraded_and_errors_within_bounds() -> None:
    runs = [
        _run(50, 2, 10, 5),
        _run(100, 2, 50, 5),  # exactly 50 ms: held
        _run(200, 2, 20, 5, degraded=30),  # 1.5 % degraded: not held
        _run(300, 2, 20, 5, errors=60),  # 2 % errors: not held
        _run(400, 2, 51, 5),  # over 50 ms: not held
    ]
    assert highest_held(runs) == 100
    assert highest_held([_run(400, 2, 20, 5, degraded=40)]) == 400  # exactly 1 %
    assert highest_held([_run(50, 2, 60, 5)]) is None


def test_single_stream_against_the_floor_sum() -> None:
    got = single_stream_summary(old_p50=6.0, new_p50=4.0, chain_p50=1.5, paced_p50=0.5)
    assert got["floor_sum_ms"] == pytest.approx(2.0)
    assert got["new_vs_old"] == pytest.approx(4 / 6)
    assert got["old_vs_floor"] == pytest.approx(3.0)
    assert got["new_vs_floor"] == pytest.approx(2.0)


def test_the_section_shows_both_meshes_and_the_ratios() -> None:
    old, new = _run(200, 10, 40, 8), _run(200, 5, 10, 6)
    result: dict[str, Any] = {
        "machine": {"date": "d", "cores": 2, "cpu_model": "cpu"},
        "against": "93be914efcc5db2c196dfaa7c272aa8f3750fc53",
        "current": "abc",
        "serving_versions": {"old": "sv-old", "new": "sv-new"},
        "duration_s": 10,
        "load_average_at_start": 0.1,
        "rates": [
            {
                "offered_rps": 200,
                "old": old,
                "new": new,
                "new_vs_old": ratios(new, old),
                "chain": {"p50_ms": 1.0, "p99_ms": 3.0},
            }
        ],
        "held": {"old": 200, "new": 200, "new_vs_old": 1.0},
        "floor": {
            "chain_single_stream": {"p50_ms": 1.5},
            "in_process": {"p50_ms": 0.4, "p99_ms": 0.9},
            "in_process_paced": {"p50_ms": 0.5},
        },
        "single_stream_vs_floor": single_stream_summary(6.0, 4.0, 1.5, 0.5),
    }
    text = markdown(result)
    assert "| 200 | 200 / 200 | 10.00 / 5.00 (x0.50) | 40.00 / 10.00 (x0.25) " in text
    assert "8.00 / 6.00 (x0.75)" in text
    assert "old = 93be914" in text
    assert "Floor sum 2.00 ms" in text
