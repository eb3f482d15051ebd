"""Verdicts derived, not declared: an evaluation's verdict and reasons follow from its evidence.

RecordEvaluation reads the evidence (one entry per metric of the experiment's
decision rule, at least) and decides with `recmesh.decision`, the code the offline
runner decides with, Holm's adjustment over several success metrics included. It
refuses, with INVALID_ARGUMENT naming the metric, evidence that is malformed (a
delta that is not challenger - champion or lies outside its own interval, a
p-value outside [0, 1] or that contradicts its own interval), lacks a metric of
the rule or, under a Holm rule with several success metrics, a success metric's
p-value, is at another confidence level or rests
on fewer resamples than the rule requires, evidence the rest of the record does not
show (the deltas must be of exactly the evidence's metrics with its values, each
arm's metrics exactly the evidence's with its champion or challenger value), and a
declared verdict that differs from the derived one, naming the first metric that
disagrees. The reasons recorded are the derived ones.

Promote derives the verdict again (`rederive_verdict`), so an evaluation recorded
before verdicts were derived, or written behind the control plane, never passes on
its declared verdict alone.

What this cannot stop: a submitter who makes up the numbers themselves. The
numbers are recorded, with the report they came from, for the reviewers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from control_plane.decision_rules import recorded_rule
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.decision import (
    Decision,
    DecisionRule,
    Evidence,
    EvidenceError,
    Verdict,
    decide,
    verdict_reasons,
)
from recmesh.rpc.errors import InvalidArgumentError

_VERDICTS = {Verdict.PASS: records_pb2.VERDICT_PASS, Verdict.FAIL: records_pb2.VERDICT_FAIL}
# delta must be challenger - champion up to float rounding of the submitter's arithmetic.
_RELATIVE_TOLERANCE = 1e-9
_ABSOLUTE_TOLERANCE = 1e-12
# A p-value this close to 1 - confidence may fall on either side of it from rounding.
_P_VALUE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class DerivedVerdict:
    verdict: records_pb2.Verdict.ValueType
    reasons: tuple[str, ...]


def derive_verdict(
    evaluation: records_pb2.Evaluation, experiment: records_pb2.Experiment
) -> DerivedVerdict:
    """The verdict and reasons the evidence supports under the experiment's rule.

    Raises InvalidArgumentError when the evidence cannot be judged or the declared
    verdict differs from the derived one.
    """
    rule = recorded_rule(experiment)
    evidence = _read_evidence(evaluation, set(experiment.spec.metrics))
    try:
        decision = decide(rule, evidence)
    except EvidenceError as exc:
        raise InvalidArgumentError(f"evaluation.evidence: {exc}") from exc
    _check_deltas(evaluation, evidence)
    _check_arms(evaluation, evidence)
    derived = _VERDICTS[decision.verdict]
    if evaluation.verdict != derived:
        raise InvalidArgumentError(_disagreement(rule, decision, evaluation.verdict))
    return DerivedVerdict(derived, verdict_reasons(rule, evidence, decision))


def _read_evidence(evaluation: records_pb2.Evaluation, measured: set[str]) -> dict[str, Evidence]:
    evidence: dict[str, Evidence] = {}
    for item in evaluation.evidence:
        what = f"evaluation.evidence {item.metric!r}"
        if item.metric not in measured:
            raise InvalidArgumentError(f"{what}: not among the experiment's metrics")
        if item.metric in evidence:
            raise InvalidArgumentError(f"{what}: named twice")
        values = (item.champion, item.challenger, item.delta, item.ci_low, item.ci_high)
        if not all(math.isfinite(value) for value in (*values, item.confidence)):
            raise InvalidArgumentError(f"{what}: values must be finite, got {values}")
        if item.ci_low > item.ci_high:
            raise InvalidArgumentError(
                f"{what}: ci_low {item.ci_low} is above ci_high {item.ci_high}"
            )
        if not 0.0 < item.confidence <= 1.0:
            raise InvalidArgumentError(f"{what}: confidence {item.confidence} is not in (0, 1]")
        expected = item.challenger - item.champion
        if not _close(item.delta, expected):
            raise InvalidArgumentError(
                f"{what}: delta {item.delta} is not challenger - champion ({expected})"
            )
        if not (_at_most(item.ci_low, item.delta) and _at_most(item.delta, item.ci_high)):
            raise InvalidArgumentError(
                f"{what}: delta {item.delta} lies outside its own interval "
                f"[{item.ci_low}, {item.ci_high}]"
            )
        evidence[item.metric] = Evidence(
            champion=item.champion,
            challenger=item.challenger,
            delta=item.delta,
            ci_low=item.ci_low,
            ci_high=item.ci_high,
            confidence=item.confidence,
            resamples=item.resamples,
            p_increase=_p_value(
                item,
                "p_increase",
                item.p_increase if item.HasField("p_increase") else None,
                clears=item.ci_low > 0.0,
                side="above",
            ),
            p_decrease=_p_value(
                item,
                "p_decrease",
                item.p_decrease if item.HasField("p_decrease") else None,
                clears=item.ci_high < 0.0,
                side="below",
            ),
        )
    return evidence


def _p_value(
    item: records_pb2.MetricEvidence, field: str, p: float | None, *, clears: bool, side: str
) -> float | None:
    """The recorded p-value `p` of `field` (None when absent). It must be in [0, 1] and
    agree with the interval it comes from: below 1 - confidence exactly when the interval
    lies wholly on its `side` of zero (up to rounding at the boundary)."""
    if p is None:
        return None
    what = f"evaluation.evidence {item.metric!r}: {field} {p}"
    if not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise InvalidArgumentError(f"{what} is not a p-value in [0, 1]")
    alpha = 1.0 - item.confidence
    if abs(p - alpha) > _P_VALUE_TOLERANCE and (p < alpha) != clears:
        says = "lies" if p < alpha else "does not lie"
        raise InvalidArgumentError(
            f"{what} contradicts its interval: against 1 - confidence = {alpha:g} it says the "
            f"interval {says} wholly {side} zero, and the interval is "
            f"[{item.ci_low}, {item.ci_high}]"
        )
    return p


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_RELATIVE_TOLERANCE, abs_tol=_ABSOLUTE_TOLERANCE)


def _at_most(a: float, b: float) -> bool:
    return a <= b or _close(a, b)


def _check_deltas(evaluation: records_pb2.Evaluation, evidence: dict[str, Evidence]) -> None:
    """The deltas the record shows are exactly the evidence judged: the same metrics, the
    same delta and interval."""
    deltas: dict[str, records_pb2.MetricDelta] = {}
    for shown in evaluation.deltas:
        if shown.metric in deltas:
            raise InvalidArgumentError(f"evaluation.deltas {shown.metric!r}: named twice")
        if shown.metric not in evidence:
            raise InvalidArgumentError(
                f"evaluation.deltas {shown.metric!r}: no evidence for this metric (every delta "
                "shown must be evidence judged)"
            )
        deltas[shown.metric] = shown
    for metric, item in evidence.items():
        shown_delta = deltas.get(metric)
        if shown_delta is None:
            raise InvalidArgumentError(
                f"evaluation.evidence {metric!r}: the evaluation's deltas do not show it"
            )
        if (shown_delta.delta, shown_delta.ci_low, shown_delta.ci_high) != (
            item.delta,
            item.ci_low,
            item.ci_high,
        ):
            raise InvalidArgumentError(
                f"evaluation.evidence {metric!r}: delta {item.delta} [{item.ci_low}, "
                f"{item.ci_high}] differs from the evaluation's delta {shown_delta.delta} "
                f"[{shown_delta.ci_low}, {shown_delta.ci_high}]"
            )


def _check_arms(evaluation: records_pb2.Evaluation, evidence: dict[str, Evidence]) -> None:
    """Each arm reports exactly the evidence's metrics, with the evidence's champion or
    challenger value."""
    arms = {arm.arm: arm for arm in evaluation.arms}
    for name in ("champion", "challenger"):
        arm = arms.get(name)
        if arm is None:
            raise InvalidArgumentError(f"evaluation.arms: no {name} arm beside the evidence")
        values = {value.metric: value.value for value in arm.metrics}
        for metric in values:
            if metric not in evidence:
                raise InvalidArgumentError(
                    f"arm {name} metric {metric!r}: no evidence for this metric"
                )
        for metric, item in evidence.items():
            want = item.champion if name == "champion" else item.challenger
            got = values.get(metric)
            if got is None:
                raise InvalidArgumentError(
                    f"evaluation.evidence {metric!r}: the {name} arm lacks it"
                )
            if not _close(got, want):
                raise InvalidArgumentError(
                    f"evaluation.evidence {metric!r}: the {name} arm reports {got}, the "
                    f"evidence {want}"
                )


def _disagreement(
    rule: DecisionRule, decision: Decision, declared: records_pb2.Verdict.ValueType
) -> str:
    """Why the declared verdict is refused, naming the first metric (in rule order) whose
    evidence contradicts it."""
    word = records_pb2.Verdict.Name(declared).removeprefix("VERDICT_")
    if decision.verdict is Verdict.PASS:
        metric = decision.passed_success_metrics[0]
        return (
            f"declared verdict {word} differs from the evidence at {metric}: it improved and "
            "every guardrail held, so the rule derives PASS"
        )
    if decision.passed_success_metrics:
        metric = decision.failed_guardrails[0]
    else:
        metric = rule.success_metrics[0].metric
    return (
        f"declared verdict {word} differs from the evidence at {metric}: the rule derives FAIL "
        f"({'; '.join(decision.reasons)})"
    )
