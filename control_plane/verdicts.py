"""Verdicts derived, not declared: an evaluation's verdict and reasons follow from its evidence.

RecordEvaluation reads the evidence (one entry per metric of the experiment's
decision rule) and decides with `recmesh.decision`, the code the offline runner
decides with. It refuses, with INVALID_ARGUMENT, evidence that is malformed,
inconsistent with the evaluation's own deltas, lacks a metric of the rule, is at
another confidence level or rests on fewer resamples than the rule requires, and
a declared verdict that differs from the derived one, naming the first metric
that disagrees. The reasons recorded are the derived ones.

What this cannot stop: a submitter who makes up the numbers themselves. The
numbers are recorded, with the report they came from, for the reviewers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from control_plane.decision_rules import recorded_rule
from recmesh.controlplane.v1 import records_pb2
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
    derived = _VERDICTS[decision.verdict]
    if evaluation.verdict != derived:
        raise InvalidArgumentError(_disagreement(rule, decision, evaluation.verdict))
    return DerivedVerdict(derived, verdict_reasons(rule, evidence, decision))


def _read_evidence(
    evaluation: records_pb2.Evaluation, measured: set[str]
) -> dict[str, Evidence]:
    deltas = {delta.metric: delta for delta in evaluation.deltas}
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
        if not math.isclose(item.delta, expected, rel_tol=_RELATIVE_TOLERANCE, abs_tol=1e-12):
            raise InvalidArgumentError(
                f"{what}: delta {item.delta} is not challenger - champion ({expected})"
            )
        shown = deltas.get(item.metric)
        if shown is not None and (shown.delta, shown.ci_low, shown.ci_high) != (
            item.delta,
            item.ci_low,
            item.ci_high,
        ):
            raise InvalidArgumentError(
                f"{what}: delta {item.delta} [{item.ci_low}, {item.ci_high}] differs from the "
                f"evaluation's delta {shown.delta} [{shown.ci_low}, {shown.ci_high}]"
            )
        evidence[item.metric] = Evidence(
            champion=item.champion,
            challenger=item.challenger,
            delta=item.delta,
            ci_low=item.ci_low,
            ci_high=item.ci_high,
            confidence=item.confidence,
            resamples=item.resamples,
        )
    return evidence


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
