"""The staged plan from `recmesh promote` flags and from a YAML file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cli.rollout_plan_args import PlanError, add_plan_arguments, build_plan, duration, wants_plan


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_plan_arguments(parser)
    return parser.parse_args(list(argv))


def test_flags_build_the_plan() -> None:
    """Stages, hold as a duration, minimum, guardrails with options, a shadow bound."""
    args = _args(
        "--stages", "0.05,0.25,1", "--hold", "2m", "--min-requests", "200",
        "--guardrail", "error_rate:0.01",
        "--guardrail", "latency_p99:0.02:threshold_ms=40:alpha=0.01",
        "--shadow-bound", "overlap:min:0.6",
    )  # fmt: skip
    assert wants_plan(args)
    plan = build_plan(args)
    assert list(plan.stages) == [0.05, 0.25, 1.0]
    assert (plan.hold_seconds, plan.min_requests_per_arm) == (120.0, 200)
    assert [(g.name, g.margin, g.alpha, g.threshold_ms) for g in plan.guardrails] == [
        ("error_rate", 0.01, 0.05, 0.0),
        ("latency_p99", 0.02, 0.01, 40.0),
    ]
    (bound,) = plan.shadow_bounds
    assert (bound.statistic, bound.side, bound.value) == ("overlap", "min", 0.6)


def test_a_yaml_plan_and_flags_beside_it(tmp_path: Path) -> None:
    """The file gives the plan; a flag given beside it wins."""
    path = tmp_path / "plan.yaml"
    path.write_text(
        "stages: [0.1, 1]\nhold: 30s\nmin_requests_per_arm: 50\nlook_interval: 5s\n"
        "guardrails:\n  - {name: degraded_rate, margin: 0.005}\n"
    )
    plan = build_plan(_args("--plan", str(path), "--min-requests", "75"))
    assert list(plan.stages) == [0.1, 1.0]
    assert (plan.hold_seconds, plan.look_interval_seconds) == (30.0, 5.0)
    assert plan.min_requests_per_arm == 75
    assert [g.name for g in plan.guardrails] == ["degraded_rate"]


def test_no_plan_flag_means_an_unstaged_promotion() -> None:
    assert not wants_plan(_args())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hold", "soon"], "hold: 'soon' is not a duration"),
        (["--guardrail", "error_rate"], "expected NAME:MARGIN"),
        (["--guardrail", "latency_p99:0.02:p=40"], "'p=40' is not threshold_ms=T"),
        (["--guardrail", "error_rate:lots"], "guardrail error_rate margin: 'lots' is not"),
        (["--shadow-bound", "overlap:0.6"], "expected STATISTIC:min|max:VALUE"),
    ],
)
def test_unreadable_flags_say_which(argv: list[str], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        build_plan(_args(*argv))


def test_durations() -> None:
    assert [duration(v, "x") for v in ("500ms", "30s", "2m", "1h", "7", 12)] == [
        0.5, 30.0, 120.0, 3600.0, 7.0, 12.0,
    ]  # fmt: skip
