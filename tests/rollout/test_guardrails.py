"""Guardrail plans and their evaluation at one look (recmesh.rollout.guardrails)."""

from __future__ import annotations

import pytest

from recmesh.rollout.guardrails import (
    MIXTURE_CS,
    ArmCounts,
    GuardrailKind,
    GuardrailPlan,
    GuardrailStatus,
    evaluate_guardrail,
)

ERRORS = GuardrailPlan(
    name="error_rate", kind=GuardrailKind.RATE, alpha=0.05, margin=0.005, min_samples_per_arm=500
)
LATENCY = GuardrailPlan(
    name="latency_p99",
    kind=GuardrailKind.LATENCY_EXCEEDANCE,
    alpha=0.01,
    margin=0.01,
    min_samples_per_arm=1_000,
    threshold_ms=250.0,
)


@pytest.mark.parametrize("plan", [ERRORS, LATENCY])
def test_plan_round_trips_through_json(plan: GuardrailPlan) -> None:
    """A plan written as JSON before the stage reads back equal, method and alpha included."""
    text = plan.to_json()
    assert GuardrailPlan.from_json(text) == plan
    assert f'"method": "{MIXTURE_CS}"' in text


def test_too_few_requests_in_either_arm_is_not_enough_data() -> None:
    """Below the plan's minimum in either arm the verdict is NOT_ENOUGH_DATA, even when
    the challenger's rate looks far worse."""
    result = evaluate_guardrail(ERRORS, ArmCounts(499, 400), ArmCounts(50_000, 100))
    assert result.status is GuardrailStatus.NOT_ENOUGH_DATA
    assert result.difference_lower_bound is None
    assert "at least 500 requests" in result.message


def test_a_clear_excess_over_the_champion_breaches_and_names_the_figures() -> None:
    """A challenger at 3 % errors against a champion at 1 % is BREACHED, and the message
    names the guardrail, both arms' counts, the bound, the margin and the method."""
    result = evaluate_guardrail(ERRORS, ArmCounts(5_000, 150), ArmCounts(95_000, 950))
    assert result.status is GuardrailStatus.BREACHED
    assert result.difference_lower_bound is not None
    assert result.difference_lower_bound > ERRORS.margin
    for figure in ("error_rate breached", "150/5000", "950/95000", "+0.50 pp", MIXTURE_CS):
        assert figure in result.message


def test_a_challenger_like_the_champion_holds() -> None:
    """Equal rates in both arms leave the guardrail HOLDING."""
    result = evaluate_guardrail(LATENCY, ArmCounts(20_000, 200), ArmCounts(20_000, 210))
    assert result.status is GuardrailStatus.HOLDING
    assert "slower than 250 ms" in result.message


def test_the_comparison_is_with_the_concurrent_champion() -> None:
    """The same challenger counts breach against a fast champion and hold against a
    champion that is as slow (a load spike that slows both arms)."""
    slow = ArmCounts(10_000, 500)
    assert evaluate_guardrail(LATENCY, slow, ArmCounts(50_000, 500)).status is (
        GuardrailStatus.BREACHED
    )
    assert evaluate_guardrail(LATENCY, slow, ArmCounts(50_000, 2_500)).status is (
        GuardrailStatus.HOLDING
    )


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"margin": -0.1}, "margin"),
        ({"min_samples_per_arm": 0}, "min_samples_per_arm"),
        ({"method": "peek-at-a-t-test"}, "unknown method"),
        ({"threshold_ms": 100.0}, "threshold_ms"),
    ],
)
def test_invalid_plans_are_refused(changes: dict[str, object], match: str) -> None:
    """A plan with an alpha, margin, minimum, method or threshold out of place raises."""
    record = ERRORS.to_dict() | changes
    with pytest.raises(ValueError, match=match):
        GuardrailPlan.from_dict(record)


def test_a_latency_plan_needs_its_threshold() -> None:
    """A latency guardrail without threshold_ms is refused."""
    with pytest.raises(ValueError, match="threshold_ms"):
        GuardrailPlan(
            name="latency_p99",
            kind=GuardrailKind.LATENCY_EXCEEDANCE,
            alpha=0.01,
            margin=0.01,
            min_samples_per_arm=1_000,
        )
