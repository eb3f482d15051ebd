"""Holm-Bonferroni over several success metrics: the step-down itself, and the verdict it
changes (a borderline PASS on one of three success metrics becomes a FAIL)."""

from __future__ import annotations

import pytest

from recmesh.decision import (
    DecisionRule,
    Direction,
    Evidence,
    Guardrail,
    MissingPValueError,
    Multiplicity,
    SuccessMetric,
    Verdict,
    decide,
    holm,
    verdict_reasons,
)


def _evidence(low: float, high: float, p_increase: float | None) -> Evidence:
    delta = (low + high) / 2
    return Evidence(
        champion=0.4,
        challenger=0.4 + delta,
        delta=delta,
        ci_low=low,
        ci_high=high,
        confidence=0.95,
        resamples=1000,
        p_increase=p_increase,
        p_decrease=1.0,
    )


def _rule(multiplicity: Multiplicity = Multiplicity.HOLM) -> DecisionRule:
    return DecisionRule(
        success_metrics=(
            SuccessMetric("ndcg@10"),
            SuccessMetric("recall@10"),
            SuccessMetric("mrr@10"),
        ),
        guardrails=(Guardrail("coverage", 0.05),),
        multiplicity=multiplicity,
    )


def _three(ndcg_p: float) -> dict[str, Evidence]:
    """ndcg@10's interval clears zero (p below 0.05); the other two include zero."""
    return {
        "ndcg@10": _evidence(0.001, 0.021, ndcg_p),
        "recall@10": _evidence(-0.01, 0.03, 0.40),
        "mrr@10": _evidence(-0.02, 0.02, 0.90),
        "coverage": _evidence(-0.001, 0.001, 0.5),
    }


def test_holm_steps_down_until_the_first_p_value_over_its_threshold() -> None:
    """p = .01, .04, .03, .005 at alpha .05: thresholds .0125, .0167, .025, .05 in rank
    order; the third (.03 > .025) stops the procedure, so the fourth (.04 < .05) does not
    count either. Adjusted p-values are the running max of (m - rank + 1) p."""
    steps = holm([("a", 0.01), ("b", 0.04), ("c", 0.03), ("d", 0.005)], alpha=0.05)
    assert [s.metric for s in steps] == ["d", "a", "c", "b"]
    assert [s.rank for s in steps] == [1, 2, 3, 4]
    assert [s.threshold for s in steps] == pytest.approx([0.0125, 0.05 / 3, 0.025, 0.05])
    assert [s.adjusted_p for s in steps] == pytest.approx([0.02, 0.03, 0.06, 0.06])
    assert [s.significant for s in steps] == [True, True, False, False]


def test_holm_caps_adjusted_p_values_at_one_and_refuses_non_p_values() -> None:
    """An adjusted p-value never exceeds 1; a p-value outside [0, 1] is a ValueError."""
    assert [s.adjusted_p for s in holm([("a", 0.6), ("b", 0.7)], alpha=0.05)] == [1.0, 1.0]
    with pytest.raises(ValueError, match="b: p-value must be in"):
        holm([("a", 0.1), ("b", 1.5)], alpha=0.05)


def test_holm_turns_a_borderline_pass_on_one_of_three_success_metrics_into_a_fail() -> None:
    """ndcg@10 clears zero with p = 0.03: alone that is a PASS, but its Holm-adjusted p
    over three success metrics is 3 x 0.03 = 0.09, not below 0.05, so the verdict is FAIL
    and the reason shows the adjustment."""
    evidence = _three(ndcg_p=0.03)
    unadjusted = decide(_rule(Multiplicity.NONE), evidence)
    assert unadjusted.verdict is Verdict.PASS
    assert unadjusted.passed_success_metrics == ("ndcg@10",)
    decision = decide(_rule(), evidence)
    assert decision.verdict is Verdict.FAIL
    assert decision.passed_success_metrics == ()
    assert [(s.metric, s.significant) for s in decision.holm] == [
        ("ndcg@10", False),
        ("recall@10", False),
        ("mrr@10", False),
    ]
    assert decision.holm[0].adjusted_p == pytest.approx(0.09)
    (reason,) = decision.reasons
    assert reason.startswith(
        "no success metric improved after the Holm adjustment over 3 success metrics "
        "(family-wise error 0.05): ndcg@10 delta +0.0110, 95% CI [+0.0010, +0.0210] is "
        "entirely above 0 but its Holm-adjusted p 0.0900 is not below 0.05 (p 0.0300, rank "
        "1, threshold 0.01667); recall@10 delta +0.0100, 95% CI [-0.0100, +0.0300] includes "
        "0 and its Holm-adjusted p 0.8000 is not below 0.05"
    )
    assert verdict_reasons(_rule(), evidence, decision) == decision.reasons


def test_a_pass_that_survives_holm_says_so() -> None:
    """With p = 0.01, ndcg@10's adjusted p is 0.03 < 0.05: PASS, and the recorded reasons
    give its adjusted p-value and the adjustment over the three success metrics."""
    evidence = _three(ndcg_p=0.01)
    rule = _rule()
    decision = decide(rule, evidence)
    assert decision.verdict is Verdict.PASS
    assert decision.passed_success_metrics == ("ndcg@10",)
    assert verdict_reasons(rule, evidence, decision) == (
        "ndcg@10 improved by +0.0110 (+2.8%), 95% CI [+0.0010, +0.0210], Holm-adjusted p "
        "0.0300 < 0.05 (p 0.0100, rank 1, threshold 0.01667)",
        "Holm adjustment over 3 success metrics (family-wise error 0.05)",
        "guardrails held: coverage",
    )


def test_a_pass_names_the_metrics_holm_did_not_count() -> None:
    """Two intervals clear zero; the second's adjusted p (0.06) does not count, and the
    PASS's reasons say so."""
    evidence = _three(ndcg_p=0.001)
    evidence["recall@10"] = _evidence(0.002, 0.03, 0.03)
    rule = _rule()
    decision = decide(rule, evidence)
    assert decision.passed_success_metrics == ("ndcg@10",)
    assert verdict_reasons(rule, evidence, decision)[1] == (
        "Holm adjustment over 3 success metrics (family-wise error 0.05); not counted: "
        "recall@10 (Holm-adjusted p 0.0600 is not below 0.05 (p 0.0300, rank 2, threshold "
        "0.025))"
    )


def test_one_success_metric_needs_no_p_value() -> None:
    """With one success metric Holm is the plain rule: its interval decides, no p-value."""
    rule = DecisionRule((SuccessMetric("ndcg@10"),))
    decision = decide(rule, {"ndcg@10": _evidence(0.001, 0.021, None)})
    assert decision.verdict is Verdict.PASS
    assert decision.holm == ()


def test_several_success_metrics_without_p_values_are_an_error_naming_the_metric() -> None:
    """Holm needs every success metric's p-value in its direction: p_decrease for a
    lower-is-better one."""
    evidence = _three(ndcg_p=0.01)
    evidence["recall@10"] = _evidence(-0.01, 0.03, None)
    with pytest.raises(MissingPValueError, match="'recall@10': no p_increase") as raised:
        decide(_rule(), evidence)
    assert raised.value.metric == "recall@10"
    rule = DecisionRule(
        (SuccessMetric("ndcg@10"), SuccessMetric("popularity", Direction.LOWER_IS_BETTER))
    )
    popular = Evidence(9.0, 8.0, -1.0, -2.0, -0.5, 0.95, 1000, p_increase=1.0)
    with pytest.raises(MissingPValueError, match="'popularity': no p_decrease"):
        decide(rule, {"ndcg@10": _evidence(0.001, 0.021, 0.01), "popularity": popular})
