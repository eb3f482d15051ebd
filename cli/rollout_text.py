"""A staged rollout as people read it: the plan, each stage, each look's counts and verdicts.

Shared by `recmesh rollout status` and `recmesh experiment show`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cli.output import enum_word, when


def rollout_headline(rollout: Any) -> str:
    """rollout r-1: running, stage 1 (share 0.25) of 0.05,0.25,1."""
    from recmesh.api.controlplane.v1 import records_pb2

    status = enum_word(records_pb2.RolloutStatus.Name(rollout.status), "ROLLOUT_STATUS_")
    status = status.replace("_", " ")
    stages = ",".join(f"{share:g}" for share in rollout.plan.stages)
    share = rollout.plan.stages[rollout.stage] if rollout.plan.stages else 0.0
    text = (
        f"rollout {rollout.rollout_id}: {status}, stage {rollout.stage} (share {share:g}) "
        f"of {stages}"
    )
    if rollout.ended_reason:
        text += f"; {rollout.ended_reason}"
    return text


def plan_lines(plan: Any) -> list[str]:
    lines = [
        f"  plan        hold {plan.hold_seconds:g} s, at least {plan.min_requests_per_arm} "
        f"requests per arm, a look every {plan.look_interval_seconds:g} s, "
        f"SRM alpha {plan.srm_alpha:g}" + (f" ({plan.srm_method})" if plan.srm_method else "")
    ]
    for guardrail in plan.guardrails:
        threshold = f", slower than {guardrail.threshold_ms:g} ms" if guardrail.threshold_ms else ""
        lines.append(
            f"  guardrail   {guardrail.name} margin {guardrail.margin:g}{threshold}, "
            f"alpha {guardrail.alpha:g} ({guardrail.method})"
        )
    for bound in plan.shadow_bounds:
        lines.append(f"  shadow      {bound.statistic} {bound.side} {bound.value:g}")
    return lines


def look_lines(looks: Sequence[Any], stages: Sequence[float]) -> list[str]:
    """Every look, grouped by stage, with both arms' counts and each guardrail's verdict."""
    lines: list[str] = []
    stage = -1
    for number, look in enumerate(looks, start=1):
        if look.stage != stage:
            stage = look.stage
            share = stages[stage] if stage < len(stages) else 0.0
            lines.append(f"  stage {stage} (share {share:g})")
        lines.append(
            f"    look {number} at {when(look.at)}, held {look.held_seconds:.0f} s: "
            f"{look.decision}; {look.reason}"
        )
        lines.append(f"      champion    {_arm(look.champion)}")
        lines.append(f"      challenger  {_arm(look.challenger)}")
        lines.append(f"      srm         p = {look.srm_p_value:.3g}")
        for guardrail in look.guardrails:
            bound = (
                f", lower bound {guardrail.difference_lower_bound:+.4f}"
                if guardrail.HasField("difference_lower_bound")
                else ""
            )
            lines.append(f"      {guardrail.name:<11} {guardrail.status}{bound}")
    return lines


def _arm(arm: Any) -> str:
    return (
        f"{arm.requests} requests, {arm.errors} errors, {arm.degraded} degraded, "
        f"{arm.slow} slow, {arm.users} users"
    )
