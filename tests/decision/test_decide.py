"""The decision rule: PASS needs an improved success metric and every guardrail held."""

from __future__ import annotations

import pytest

from recmesh.decision import (
    Budget,
    ConfidenceMismatchError,
    Decision,
    DecisionRule,
    Direction,
    Evidence,
    Guardrail,
    MissingEvidenceError,
    Multiplicity,
    SuccessMetric,
    TooFewResamplesError,
    Verdict,
    decide,
    verdict_reasons,
)


def _estimate(
    delta: float, low: float, high: float, champion: float = 0.38, resamples: int = 1000
) -> Evidence:
    return Evidence(
        champion=champion,
        challenger=champion + delta,
        delta=delta,
        ci_low=low,
        ci_high=high,
        confidence=0.95,
        resamples=resamples,
    )


_RULE = DecisionRule(
    success_metrics=(SuccessMetric("ndcg@10"),),
    guardrails=(Guardrail("precision@10", margin=0.02),),
)


def test_pass_when_success_improves_and_guardrails_hold() -> None:
    """CI of the success metric above 0 and guardrail within its margin: PASS, no reasons."""
    estimates = {
        "ndcg@10": _estimate(0.01, 0.004, 0.016),
        "precision@10": _estimate(-0.002, -0.006, 0.002),
    }
    decision = decide(_RULE, estimates)
    assert decision == Decision(
        verdict=Verdict.PASS,
        reasons=(),
        passed_success_metrics=("ndcg@10",),
        failed_guardrails=(),
    )


def test_fail_when_no_success_metric_interval_clears_zero() -> None:
    """An interval that includes 0 is no improvement, and the reason says so."""
    decision = decide(
        _RULE,
        {"ndcg@10": _estimate(0.003, -0.002, 0.008), "precision@10": _estimate(0.0, -0.001, 0.001)},
    )
    assert decision.verdict is Verdict.FAIL
    assert decision.reasons == (
        "no success metric improved: ndcg@10 delta +0.0030, 95% CI [-0.0020, +0.0080] includes 0",
    )
    assert decision.passed_success_metrics == ()


def test_fail_when_a_guardrail_is_breached_beyond_its_margin() -> None:
    """precision@10 may lose 2% of 0.38 = 0.0076; a CI low of -0.0312 breaches it."""
    decision = decide(
        _RULE,
        {"ndcg@10": _estimate(0.02, 0.01, 0.03), "precision@10": _estimate(-0.02, -0.0312, -0.01)},
    )
    assert decision.verdict is Verdict.FAIL
    assert decision.failed_guardrails == ("precision@10",)
    assert decision.passed_success_metrics == ("ndcg@10",)
    assert decision.reasons == (
        "guardrail precision@10: challenger worse than champion by more than the 2.0% margin "
        "(CI low -0.0312 < -0.0076)",
    )


def test_every_failed_condition_gives_its_own_reason() -> None:
    """No success and two breached guardrails: three reasons, success first (a rule
    recorded before the Holm adjustment: the success details need no p-values)."""
    rule = DecisionRule(
        success_metrics=(SuccessMetric("ndcg@10"), SuccessMetric("recall@10")),
        guardrails=(Guardrail("precision@10", 0.0), Guardrail("coverage", 0.05)),
        multiplicity=Multiplicity.NONE,
    )
    decision = decide(
        rule,
        {
            "ndcg@10": _estimate(-0.01, -0.02, -0.005),
            "recall@10": _estimate(0.0, -0.01, 0.01),
            "precision@10": _estimate(-0.001, -0.002, 0.0),
            "coverage": _estimate(-0.1, -0.2, -0.05, champion=0.5),
        },
    )
    assert decision.failed_guardrails == ("precision@10", "coverage")
    assert len(decision.reasons) == 3
    assert decision.reasons[0] == (
        "no success metric improved: ndcg@10 delta -0.0100, 95% CI [-0.0200, -0.0050] is "
        "entirely below 0 (worse); recall@10 delta +0.0000, 95% CI [-0.0100, +0.0100] includes 0"
    )
    assert "0.0% margin (CI low -0.0020 < 0.0000)" in decision.reasons[1]
    assert "5.0% margin (CI low -0.2000 < -0.0250)" in decision.reasons[2]


def test_lower_is_better_metrics_flip_both_conditions() -> None:
    """For lower-is-better, success needs ci_high < 0 and a guardrail bounds ci_high."""
    rule = DecisionRule(
        success_metrics=(SuccessMetric("latency", Direction.LOWER_IS_BETTER),),
        guardrails=(Guardrail("popularity", 0.1, Direction.LOWER_IS_BETTER),),
    )
    passing = decide(
        rule,
        {"latency": _estimate(-2.0, -3.0, -1.0, 20.0), "popularity": _estimate(5, 1, 9, 100.0)},
    )
    assert passing.verdict is Verdict.PASS
    failing = decide(
        rule,
        {"latency": _estimate(2.0, 1.0, 3.0, 20.0), "popularity": _estimate(8, 2, 12, 100.0)},
    )
    assert failing.reasons == (
        "no success metric improved: latency delta +2.0000, 95% CI [+1.0000, +3.0000] is "
        "entirely above 0 (worse)",
        "guardrail popularity: challenger worse than champion by more than the 10.0% margin "
        "(CI high 12.0000 > 10.0000)",
    )


def test_a_guardrail_exactly_at_its_margin_holds() -> None:
    """Non-inferiority is inclusive: a CI low equal to -margin x |champion| passes."""
    rule = DecisionRule((SuccessMetric("a"),), (Guardrail("b", 0.5),))
    decision = decide(rule, {"a": _estimate(1, 0.5, 1.5), "b": _estimate(-0.1, -0.25, 0.0, 0.5)})
    assert decision.verdict is Verdict.PASS


def test_a_metric_without_an_estimate_is_an_error_not_a_fail() -> None:
    """A rule naming a metric that was not estimated raises MissingEvidenceError."""
    with pytest.raises(MissingEvidenceError, match="no evidence for metric 'precision@10'"):
        decide(_RULE, {"ndcg@10": _estimate(0.01, 0.004, 0.016)})


def test_rules_are_validated_on_construction() -> None:
    """No success metric, a repeated metric, or a negative margin are ValueErrors."""
    with pytest.raises(ValueError, match="at least one success metric"):
        DecisionRule(success_metrics=())
    with pytest.raises(ValueError, match="named more than once: a"):
        DecisionRule((SuccessMetric("a"), SuccessMetric("a")))
    with pytest.raises(ValueError, match="margin must be >= 0"):
        Guardrail("a", margin=-0.01)
    with pytest.raises(ValueError, match="margin must be >= 0"):
        Guardrail("a", margin=float("nan"))
    with pytest.raises(ValueError, match="confidence must be in"):
        DecisionRule((SuccessMetric("a"),), confidence=1.5)


def test_a_budget_bounds_the_challengers_own_value() -> None:
    """A budget holds at its max and fails above it, with its own reason; a PASS's recorded
    reasons name the improvement, the guardrails and the budget that held."""
    rule = DecisionRule((SuccessMetric("a"),), budgets=(Budget("latency_p99_ms", 5.0),))
    improved = _estimate(0.1, 0.05, 0.15)
    held = {"a": improved, "latency_p99_ms": _estimate(1.0, 1.0, 1.0, 4.0, resamples=0)}
    decision = decide(rule, held)
    assert decision.verdict is Verdict.PASS
    assert verdict_reasons(rule, held, decision) == (
        "a improved by +0.1000 (+26.3%), 95% CI [+0.0500, +0.1500]",
        "guardrails held: latency_p99_ms 5.00 <= 5",
    )
    over = {"a": improved, "latency_p99_ms": _estimate(1.5, 1.5, 1.5, 4.0, resamples=0)}
    failing = decide(rule, over)
    assert failing.failed_guardrails == ("latency_p99_ms",)
    assert failing.reasons == (
        "guardrail latency_p99_ms: challenger's 5.50 is over the budget of 5",
    )


def test_evidence_that_cannot_be_judged_is_an_error_naming_the_metric() -> None:
    """Too few resamples or another confidence level behind an interval raise an
    EvidenceError naming the metric; a budget's value needs no resamples."""
    rule = DecisionRule(
        (SuccessMetric("a"),), budgets=(Budget("b", 1.0),), confidence=0.95, min_resamples=1000
    )
    few = {"a": _estimate(0.1, 0.05, 0.15, resamples=999), "b": _estimate(0, 0, 0, resamples=0)}
    with pytest.raises(TooFewResamplesError, match="999 bootstrap resamples") as raised:
        decide(rule, few)
    assert raised.value.metric == "a"
    other = Evidence(0.3, 0.4, 0.1, 0.05, 0.15, confidence=0.9, resamples=1000)
    with pytest.raises(ConfidenceMismatchError, match=r"confidence 0\.9"):
        decide(rule, {"a": other, "b": _estimate(0, 0, 0, resamples=0)})
