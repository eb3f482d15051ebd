"""Hand-made measurements for the report and record tests."""

from __future__ import annotations

from offline.decision import DecisionRule, Guardrail, SuccessMetric, Verdict, decide
from offline.experiment.measure import CHALLENGER, CHAMPION, Measurement, SegmentDelta
from offline.stats.bootstrap import DeltaEstimate, Interval

#: The rule the measurements are decided by: the spec of test_record's experiment.
RULE = DecisionRule(
    success_metrics=(SuccessMetric("ndcg@10"),),
    guardrails=(Guardrail("coverage", 0.05),),
    min_resamples=200,
)


def delta(champion: float, challenger: float, half_width: float = 0.01) -> DeltaEstimate:
    change = challenger - champion
    return DeltaEstimate(
        delta=change,
        ci_low=change - half_width,
        ci_high=change + half_width,
        relative=change / champion,
        champion=champion,
        challenger=challenger,
        confidence=0.95,
        resamples=200,
    )


def measurement(verdict: Verdict = Verdict.PASS) -> Measurement:
    """Decided by RULE: the PASS keeps coverage within its margin, the FAIL breaks it."""
    coverage = (0.13, 0.129) if verdict is Verdict.PASS else (0.13, 0.12)
    values = {"ndcg@10": (0.36, 0.41), "coverage": coverage}
    deltas = {
        "ndcg@10": delta(*values["ndcg@10"]),
        "coverage": delta(*coverage, half_width=0.001 if verdict is Verdict.PASS else 0.01),
    }
    arms = {
        CHAMPION: {m: Interval(a, a - 0.01, a + 0.01, 0.95) for m, (a, _) in values.items()},
        CHALLENGER: {m: Interval(b, b - 0.01, b + 0.01, 0.95) for m, (_, b) in values.items()},
    }
    segments = tuple(
        SegmentDelta(segment, users, "ndcg@10", delta(0.3 + i / 10, 0.32 + i / 10))
        for i, (segment, users) in enumerate((("cold", 10), ("light", 50), ("heavy", 40)))
    )
    return Measurement(
        users=100,
        metrics=("ndcg@10", "coverage"),
        arms=arms,
        deltas=deltas,
        segments=segments,
        latency=None,
        champion_latency=None,
        decision=decide(RULE, deltas),
        rule=RULE,
    )
