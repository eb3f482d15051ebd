"""validated_plan: what a staged plan must say, and the defaults it is recorded with."""

from __future__ import annotations

import pytest

from control_plane.rollout_plan import (
    DEFAULT_LOOK_INTERVAL_SECONDS,
    latency_threshold_ms,
    validated_plan,
)
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rollout.guardrails import MIXTURE_CS
from recmesh.rollout.srm import METHOD as SRM_METHOD
from recmesh.rpc.errors import InvalidArgumentError


def _plan(**fields: object) -> records_pb2.RolloutPlan:
    values: dict[str, object] = {
        "stages": [0.05, 0.25, 1.0],
        "hold_seconds": 30.0,
        "min_requests_per_arm": 200,
    }
    values.update(fields)
    return records_pb2.RolloutPlan(**values)  # type: ignore[arg-type]


def _guardrail(**fields: object) -> records_pb2.LiveGuardrail:
    values: dict[str, object] = {"name": "error_rate", "margin": 0.01, "alpha": 0.05}
    values.update(fields)
    return records_pb2.LiveGuardrail(**values)  # type: ignore[arg-type]


def test_defaults_are_recorded() -> None:
    """Method, SRM alpha and look interval are filled in; the latency threshold is the
    latency guardrail's."""
    plan = validated_plan(
        _plan(
            guardrails=[
                _guardrail(),
                _guardrail(name="latency_p99", margin=0.02, threshold_ms=40.0),
            ]
        )
    )
    assert [g.method for g in plan.guardrails] == [MIXTURE_CS] * 3
    assert plan.srm_alpha == 0.001
    assert plan.srm_method == SRM_METHOD
    assert plan.look_interval_seconds == DEFAULT_LOOK_INTERVAL_SECONDS
    assert latency_threshold_ms(plan) == 40.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"stages": [1.0]}, "a staged plan needs at least two stages"),
        ({"stages": [0.25, 0.05, 1.0]}, "stages must increase strictly: 0.05 follows 0.25"),
        ({"stages": [0.05, 0.05, 1.0]}, "stages must increase strictly: 0.05 follows 0.05"),
        ({"stages": [0.0, 1.0]}, "every stage is a share in (0, 1], got 0"),
        ({"stages": [0.05, 0.5]}, "the last stage must be 1 (every user), got 0.5"),
        ({"hold_seconds": -1.0}, "hold_seconds must be 0 or more, got -1"),
        ({"min_requests_per_arm": 0}, "min_requests_per_arm must be at least 1"),
        ({"srm_alpha": 1.5}, "srm_alpha must lie in (0, 1), got 1.5"),
        ({"srm_method": "chi-square"}, "unknown srm_method 'chi-square'"),
        ({"look_interval_seconds": -5.0}, "look_interval_seconds must be positive, got -5"),
        (
            {"guardrails": [_guardrail(name="p50")]},
            "unknown guardrail 'p50' (known: error_rate, degraded_rate, latency_p99)",
        ),
        (
            {"guardrails": [_guardrail(margin=-0.1)]},
            "guardrail error_rate: margin must lie in [0, 1) (a rate difference), got -0.1",
        ),
        (
            {"guardrails": [_guardrail(alpha=0.0)]},
            "guardrail error_rate: alpha must lie in (0, 1), got 0",
        ),
        (
            {"guardrails": [_guardrail(method="bonferroni")]},
            f"guardrail error_rate: unknown method 'bonferroni' (known: {MIXTURE_CS})",
        ),
        (
            {"guardrails": [_guardrail(name="latency_p99")]},
            "guardrail latency_p99: threshold_ms must be positive",
        ),
        (
            {"guardrails": [_guardrail(threshold_ms=40.0)]},
            "guardrail error_rate: threshold_ms is for latency_p99 only",
        ),
        (
            {"guardrails": [_guardrail(), _guardrail()]},
            "guardrail error_rate is named twice",
        ),
        (
            {"shadow_bounds": [records_pb2.ShadowDiffBound(statistic="rbo", side="above")]},
            "shadow bound on rbo: side must be min or max, got 'above'",
        ),
    ],
)
def test_invalid_plans_are_refused_with_what_to_fix(
    fields: dict[str, object], message: str
) -> None:
    """Each rule's refusal names the field and the value."""
    with pytest.raises(InvalidArgumentError) as caught:
        validated_plan(_plan(**fields))
    assert str(caught.value).startswith(message), str(caught.value)


def test_error_and_degraded_rate_are_always_guarded() -> None:
    """A plan naming only latency, or no guardrail at all, gets error_rate and
    degraded_rate with the recorded defaults (margin 0.01, alpha 0.05, the default
    method); a plan's own error_rate is kept as it is."""
    bare = validated_plan(_plan())
    assert [(g.name, g.margin, g.alpha, g.method) for g in bare.guardrails] == [
        ("error_rate", 0.01, 0.05, MIXTURE_CS),
        ("degraded_rate", 0.01, 0.05, MIXTURE_CS),
    ]
    own = validated_plan(
        _plan(
            guardrails=[
                _guardrail(name="latency_p99", margin=0.02, threshold_ms=40.0),
                _guardrail(margin=0.005, alpha=0.01),
            ]
        )
    )
    assert [(g.name, g.margin, g.alpha) for g in own.guardrails] == [
        ("latency_p99", 0.02, 0.05),
        ("error_rate", 0.005, 0.01),
        ("degraded_rate", 0.01, 0.05),
    ]
