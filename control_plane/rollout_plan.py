"""A staged promotion's plan, checked and completed before it is recorded.

The plan is recorded in the RolloutRecord before the first stage starts, with every
default filled in (the sequential methods, the SRM alpha, the look interval, and the
error_rate and degraded_rate guardrails when the plan omits them), so a later control
plane with other defaults cannot reinterpret a running rollout.

Stages are the challenger's share of users, strictly increasing, the last 1. A stage
compares the challenger arm with the concurrent champion arm, so the last stage
(every user on the challenger) has no champion arm to compare with: when the stage
before it held, the challenger becomes the champion (the rollout completes) instead
of running it. A plan therefore has at least one stage below 1.
"""

from __future__ import annotations

import itertools
import math

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rollout.guardrails import METHODS, MIXTURE_CS, GuardrailKind, GuardrailPlan
from recmesh.rollout.srm import DEFAULT_SRM_ALPHA
from recmesh.rollout.srm import METHOD as SRM_METHOD
from recmesh.rpc.errors import InvalidArgumentError

#: Guardrail name -> what it counts in each arm.
GUARDRAIL_KINDS: dict[str, GuardrailKind] = {
    "error_rate": GuardrailKind.RATE,
    "degraded_rate": GuardrailKind.RATE,
    "latency_p99": GuardrailKind.LATENCY_EXCEEDANCE,
}
#: Guardrails every plan evaluates: a challenger that fails, or answers without ranking
#: (degraded, not an error), must never complete a rollout because its plan named only
#: latency. A plan that omits one gets it with the defaults below, recorded in the plan.
REQUIRED_GUARDRAILS = ("error_rate", "degraded_rate")
#: The margin (rate difference, challenger minus champion) and alpha of a required
#: guardrail the plan omits.
DEFAULT_REQUIRED_MARGIN = 0.01
DEFAULT_REQUIRED_ALPHA = 0.05
#: How often a running stage is looked at when the plan does not say.
DEFAULT_LOOK_INTERVAL_SECONDS = 10.0
BOUND_SIDES = ("min", "max")


def validated_plan(plan: records_pb2.RolloutPlan) -> records_pb2.RolloutPlan:
    """A copy of the plan with its defaults filled in; InvalidArgumentError naming the
    first field to fix."""
    checked = records_pb2.RolloutPlan()
    checked.CopyFrom(plan)
    _check_stages(list(plan.stages))
    if not (math.isfinite(plan.hold_seconds) and plan.hold_seconds >= 0):
        raise InvalidArgumentError(f"hold_seconds must be 0 or more, got {plan.hold_seconds:g}")
    if plan.min_requests_per_arm < 1:
        raise InvalidArgumentError("min_requests_per_arm must be at least 1")
    if plan.look_interval_seconds == 0:
        checked.look_interval_seconds = DEFAULT_LOOK_INTERVAL_SECONDS
    elif not (math.isfinite(plan.look_interval_seconds) and plan.look_interval_seconds > 0):
        raise InvalidArgumentError(
            f"look_interval_seconds must be positive, got {plan.look_interval_seconds:g}"
        )
    if plan.srm_alpha == 0:
        checked.srm_alpha = DEFAULT_SRM_ALPHA
    elif not 0 < plan.srm_alpha < 1:
        raise InvalidArgumentError(f"srm_alpha must lie in (0, 1), got {plan.srm_alpha:g}")
    if not plan.srm_method:
        checked.srm_method = SRM_METHOD
    elif plan.srm_method != SRM_METHOD:
        raise InvalidArgumentError(f"unknown srm_method {plan.srm_method!r} (known: {SRM_METHOD})")
    names: set[str] = set()
    for guardrail in checked.guardrails:
        if guardrail.name in names:
            raise InvalidArgumentError(f"guardrail {guardrail.name} is named twice")
        names.add(guardrail.name)
        _check_guardrail(guardrail)
    for name in REQUIRED_GUARDRAILS:
        if name not in names:
            checked.guardrails.append(
                records_pb2.LiveGuardrail(
                    name=name,
                    margin=DEFAULT_REQUIRED_MARGIN,
                    alpha=DEFAULT_REQUIRED_ALPHA,
                    method=MIXTURE_CS,
                )
            )
    for bound in plan.shadow_bounds:
        _check_bound(bound)
    return checked


def guardrail_plan(
    guardrail: records_pb2.LiveGuardrail, min_requests_per_arm: int
) -> GuardrailPlan:
    """The guardrail as recmesh.rollout.guardrails evaluates it (a validated plan's)."""
    kind = GUARDRAIL_KINDS[guardrail.name]
    return GuardrailPlan(
        name=guardrail.name,
        kind=kind,
        alpha=guardrail.alpha,
        margin=guardrail.margin,
        min_samples_per_arm=min_requests_per_arm,
        method=guardrail.method,
        threshold_ms=guardrail.threshold_ms if kind is GuardrailKind.LATENCY_EXCEEDANCE else None,
    )


def latency_threshold_ms(plan: records_pb2.RolloutPlan) -> float:
    """The latency fronts count slow requests against: the latency_p99 guardrail's (0: none)."""
    for guardrail in plan.guardrails:
        if guardrail.name == "latency_p99":
            return guardrail.threshold_ms
    return 0.0


def describe_guardrail(guardrail: records_pb2.LiveGuardrail) -> str:
    """name:margin[:threshold_ms=T] alpha=A, as the CLI takes and audit details show it."""
    text = f"{guardrail.name}:{guardrail.margin:g}"
    if guardrail.threshold_ms:
        text += f":threshold_ms={guardrail.threshold_ms:g}"
    return f"{text} alpha={guardrail.alpha:g}"


def _check_stages(stages: list[float]) -> None:
    if len(stages) < 2:
        raise InvalidArgumentError(
            "a staged plan needs at least two stages, the last 1 (for example 0.05,0.25,1); "
            "to promote at once, promote without a plan"
        )
    for share in stages:
        if not (math.isfinite(share) and 0 < share <= 1):
            raise InvalidArgumentError(f"every stage is a share in (0, 1], got {share:g}")
    for before, after in itertools.pairwise(stages):
        if after <= before:
            raise InvalidArgumentError(
                f"stages must increase strictly: {after:g} follows {before:g}"
            )
    if stages[-1] != 1:
        raise InvalidArgumentError(f"the last stage must be 1 (every user), got {stages[-1]:g}")


def _check_guardrail(guardrail: records_pb2.LiveGuardrail) -> None:
    name = guardrail.name
    if name not in GUARDRAIL_KINDS:
        known = ", ".join(GUARDRAIL_KINDS)
        raise InvalidArgumentError(f"unknown guardrail {name!r} (known: {known})")
    if not guardrail.method:
        guardrail.method = MIXTURE_CS
    elif guardrail.method not in METHODS:
        raise InvalidArgumentError(
            f"guardrail {name}: unknown method {guardrail.method!r} (known: {MIXTURE_CS})"
        )
    if not (math.isfinite(guardrail.margin) and 0 <= guardrail.margin < 1):
        raise InvalidArgumentError(
            f"guardrail {name}: margin must lie in [0, 1) (a rate difference), "
            f"got {guardrail.margin:g}"
        )
    if not 0 < guardrail.alpha < 1:
        raise InvalidArgumentError(
            f"guardrail {name}: alpha must lie in (0, 1), got {guardrail.alpha:g}"
        )
    latency = GUARDRAIL_KINDS[name] is GuardrailKind.LATENCY_EXCEEDANCE
    if latency and not (math.isfinite(guardrail.threshold_ms) and guardrail.threshold_ms > 0):
        raise InvalidArgumentError(
            f"guardrail {name}: threshold_ms must be positive (the champion's p99 before "
            "the rollout, in milliseconds)"
        )
    if not latency and guardrail.threshold_ms:
        raise InvalidArgumentError(f"guardrail {name}: threshold_ms is for latency_p99 only")


def _check_bound(bound: records_pb2.ShadowDiffBound) -> None:
    if not bound.statistic:
        raise InvalidArgumentError("a shadow bound needs a statistic (such as overlap or rbo)")
    if bound.side not in BOUND_SIDES:
        raise InvalidArgumentError(
            f"shadow bound on {bound.statistic}: side must be min or max, got {bound.side!r}"
        )
    if not math.isfinite(bound.value):
        raise InvalidArgumentError(f"shadow bound on {bound.statistic}: value must be finite")
