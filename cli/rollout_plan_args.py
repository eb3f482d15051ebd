"""A staged promotion's plan from `recmesh promote` flags or a YAML file.

    --stages 0.05,0.25,1 --hold 30s --min-requests 200
    --guardrail error_rate:0.01 --guardrail latency_p99:0.02:threshold_ms=40[:alpha=0.05]
    --shadow-bound overlap:min:0.6 --look-interval 10s --srm-alpha 0.001

or `--plan FILE.yaml` with the same fields (flags given beside it win):

    stages: [0.05, 0.25, 1]
    hold: 30s                    # or hold_seconds: 30
    min_requests_per_arm: 200
    look_interval: 10s
    guardrails:
      - {name: latency_p99, margin: 0.02, threshold_ms: 40, alpha: 0.05}
    shadow_bounds:
      - {statistic: overlap, side: min, value: 0.6}

A guardrail's alpha defaults to 0.05 here; the control plane checks the plan and
fills in the rest (the sequential method, the SRM alpha, the look interval).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from cli.yaml_mapping import MappingFileError, load_mapping

#: The alpha of a guardrail that does not name one.
DEFAULT_GUARDRAIL_ALPHA = 0.05
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class PlanError(ValueError):
    """A plan flag or file that cannot be read; says which and why."""


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "staged promotion", "promote in stages with live guardrails (any of these starts one)"
    )
    group.add_argument("--plan", type=Path, default=None, help="the plan as a YAML file")
    group.add_argument(
        "--stages", default=None, help="the challenger's share per stage, e.g. 0.05,0.25,1"
    )
    group.add_argument("--hold", default=None, help="how long each stage is held: 30s, 5m, 1h")
    group.add_argument(
        "--min-requests", type=int, default=None, help="fewest requests per arm per stage"
    )
    group.add_argument(
        "--guardrail",
        dest="live_guardrails",
        action="append",
        default=[],
        metavar="NAME:MARGIN[:threshold_ms=T][:alpha=A]",
        help="error_rate, degraded_rate or latency_p99 (which needs threshold_ms); repeatable",
    )
    group.add_argument(
        "--shadow-bound",
        action="append",
        default=[],
        metavar="STATISTIC:min|max:VALUE",
        help="a bound on the attached shadow report, checked before the first stage",
    )
    group.add_argument("--look-interval", default=None, help="how often stages are looked at")
    group.add_argument("--srm-alpha", type=float, default=None, help="sample-ratio check alpha")


def wants_plan(args: argparse.Namespace) -> bool:
    return args.plan is not None or any(
        value
        for value in (
            args.stages,
            args.hold,
            args.min_requests,
            args.live_guardrails,
            args.shadow_bound,
            args.look_interval,
            args.srm_alpha,
        )
    )


def build_plan(args: argparse.Namespace) -> Any:
    """The RolloutPlan from --plan and the flags (flags win)."""
    from recmesh.api.controlplane.v1 import records_pb2

    body = _load(args.plan) if args.plan is not None else {}
    plan = records_pb2.RolloutPlan()
    stages = args.stages if args.stages is not None else body.get("stages")
    if stages is not None:
        plan.stages.extend(_stages(stages))
    hold = args.hold if args.hold is not None else body.get("hold", body.get("hold_seconds"))
    if hold is not None:
        plan.hold_seconds = duration(hold, "hold")
    minimum = (
        args.min_requests
        if args.min_requests is not None
        else body.get("min_requests_per_arm", body.get("min_requests"))
    )
    if minimum is not None:
        plan.min_requests_per_arm = _number(minimum, "min_requests_per_arm", int)
    interval = (
        args.look_interval
        if args.look_interval is not None
        else body.get("look_interval", body.get("look_interval_seconds"))
    )
    if interval is not None:
        plan.look_interval_seconds = duration(interval, "look_interval")
    srm_alpha = args.srm_alpha if args.srm_alpha is not None else body.get("srm_alpha")
    if srm_alpha is not None:
        plan.srm_alpha = _number(srm_alpha, "srm_alpha", float)
    if args.live_guardrails:
        plan.guardrails.extend(guardrail(text) for text in args.live_guardrails)
    else:
        plan.guardrails.extend(_guardrail_entry(entry) for entry in body.get("guardrails") or [])
    if args.shadow_bound:
        plan.shadow_bounds.extend(shadow_bound(text) for text in args.shadow_bound)
    else:
        plan.shadow_bounds.extend(_bound_entry(entry) for entry in body.get("shadow_bounds") or [])
    return plan


def duration(value: object, name: str) -> float:
    """Seconds from a number or "30s", "500ms", "5m", "1h"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise PlanError(f"{name}: {value!r} is not a duration (such as 30s, 5m, 1h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def guardrail(text: str) -> Any:
    """A LiveGuardrail from NAME:MARGIN[:threshold_ms=T][:alpha=A][:method=M]."""
    parts = text.split(":")
    if len(parts) < 2:
        raise PlanError(f"--guardrail {text!r}: expected NAME:MARGIN[:threshold_ms=T][:alpha=A]")
    entry: dict[str, object] = {"name": parts[0], "margin": parts[1]}
    for option in parts[2:]:
        key, sep, value = option.partition("=")
        if not sep or key not in ("threshold_ms", "alpha", "method"):
            raise PlanError(
                f"--guardrail {text!r}: {option!r} is not threshold_ms=T, alpha=A or method=M"
            )
        entry[key] = value
    return _guardrail_entry(entry)


def shadow_bound(text: str) -> Any:
    """A ShadowDiffBound from STATISTIC:min|max:VALUE."""
    parts = text.split(":")
    if len(parts) != 3:
        raise PlanError(f"--shadow-bound {text!r}: expected STATISTIC:min|max:VALUE")
    return _bound_entry({"statistic": parts[0], "side": parts[1], "value": parts[2]})


def _load(path: Path) -> dict[str, Any]:
    try:
        return load_mapping(path)
    except MappingFileError as exc:
        raise PlanError(str(exc)) from exc


def _stages(value: object) -> list[float]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise PlanError(f"stages: {value!r} is not a list of shares")
    return [_number(item, "stages", float) for item in items]


def _guardrail_entry(entry: object) -> Any:
    from recmesh.api.controlplane.v1 import records_pb2

    if not isinstance(entry, dict) or "name" not in entry or "margin" not in entry:
        raise PlanError(f"a guardrail needs a name and a margin, got {entry!r}")
    return records_pb2.LiveGuardrail(
        name=str(entry["name"]),
        margin=_number(entry["margin"], f"guardrail {entry['name']} margin", float),
        alpha=_number(
            entry.get("alpha", DEFAULT_GUARDRAIL_ALPHA), f"guardrail {entry['name']} alpha", float
        ),
        threshold_ms=_number(
            entry.get("threshold_ms", 0), f"guardrail {entry['name']} threshold_ms", float
        ),
        method=str(entry.get("method", "")),
    )


def _bound_entry(entry: object) -> Any:
    from recmesh.api.controlplane.v1 import records_pb2

    if not isinstance(entry, dict) or not {"statistic", "side", "value"} <= entry.keys():
        raise PlanError(f"a shadow bound needs statistic, side and value, got {entry!r}")
    return records_pb2.ShadowDiffBound(
        statistic=str(entry["statistic"]),
        side=str(entry["side"]),
        value=_number(entry["value"], f"shadow bound on {entry['statistic']}", float),
    )


def _number(value: object, name: str, kind: type[int] | type[float]) -> Any:
    try:
        return kind(str(value).strip())
    except ValueError:
        raise PlanError(f"{name}: {value!r} is not a number") from None
