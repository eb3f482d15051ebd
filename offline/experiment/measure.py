"""Both arms' metrics with intervals, paired deltas, per-segment deltas and the verdict.

Every metric but coverage and latency is a mean over the test users, with a
percentile bootstrap interval from resampling users (`offline.stats`); the delta
of each is a paired bootstrap on the same resamples. Coverage is bootstrapped by
`coverage`, and the latency (measured, not computed) is judged against its
absolute budget; `recmesh.decision` judges them all. Deterministic for a spec
and seed, except the latency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from offline.decision import (
    Budget,
    Decision,
    DecisionRule,
    Guardrail,
    SuccessMetric,
    decide,
)
from offline.experiment.arms import ArmLists
from offline.experiment.coverage import coverage_intervals
from offline.experiment.latency import LatencyResult
from offline.experiment.spec import COVERAGE, LATENCY_METRIC, ExperimentRunSpec, metric_direction
from offline.metrics.evaluate import PerUserEvaluator, evaluate_per_user
from offline.metrics.segments import SEGMENTS, segment_users
from offline.stats.bootstrap import DeltaEstimate, Interval
from offline.stats.compare import arm_intervals, compare
from recmesh.data.dataset import Interactions, ItemCatalog

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class SegmentDelta:
    """One metric in one user segment: both arms' means and the paired delta."""

    segment: str
    users: int
    metric: str
    delta: DeltaEstimate


@dataclass(frozen=True)
class Measurement:
    """Everything an evaluation records. `arms[arm][metric]` is the arm's value and
    interval (the latency's interval is the point itself); `deltas[metric]` is
    challenger minus champion."""

    users: int
    metrics: tuple[str, ...]
    arms: Mapping[str, Mapping[str, Interval]]
    deltas: Mapping[str, DeltaEstimate]
    segments: tuple[SegmentDelta, ...]
    latency: LatencyResult | None
    champion_latency: LatencyResult | None
    decision: Decision
    #: The rule `decision` was made by.
    rule: DecisionRule


def measure(
    spec: ExperimentRunSpec,
    rule: DecisionRule,
    challenger: ArmLists,
    champion: ArmLists,
    train: Interactions,
    test: Interactions,
    catalog: ItemCatalog,
    latency: LatencyResult | None,
    champion_latency: LatencyResult | None,
    evaluator: PerUserEvaluator = evaluate_per_user,
) -> Measurement:
    """Measures both arms' lists against `test` and decides by `rule` (the experiment's,
    `record.recorded_rule`); `train` gives popularity and segments. `evaluator` computes
    each arm's per-user metrics (here, or on a cluster's workers)."""
    k, seed, boot = spec.k, spec.seed, spec.bootstrap
    ours = evaluator(challenger.topk, test, train, catalog, k)
    theirs = evaluator(champion.topk, test, train, catalog, k)
    per_user = [m for m in spec.bootstrapped_metrics if m != COVERAGE]
    intervals = {
        CHALLENGER: dict(arm_intervals(ours, per_user, seed=seed, resamples=boot.resamples,
                                       confidence=boot.confidence)),
        CHAMPION: dict(arm_intervals(theirs, per_user, seed=seed, resamples=boot.resamples,
                                     confidence=boot.confidence)),
    }  # fmt: skip
    deltas = dict(
        compare(ours, theirs, per_user, seed=seed, resamples=boot.resamples,
                confidence=boot.confidence)
    )  # fmt: skip
    if COVERAGE in spec.metrics:
        mine, other, delta = coverage_intervals(
            challenger.topk.restrict(ours.users), champion.topk.restrict(ours.users),
            catalog.item_ids, k, seed=seed, resamples=boot.resamples,
            confidence=boot.confidence,
        )  # fmt: skip
        intervals[CHALLENGER][COVERAGE], intervals[CHAMPION][COVERAGE] = mine, other
        deltas[COVERAGE] = delta
    if LATENCY_METRIC in spec.metrics:
        mine_ms = 0.0 if latency is None else latency.p99_ms
        other_ms = 0.0 if champion_latency is None else champion_latency.p99_ms
        intervals[CHALLENGER][LATENCY_METRIC] = Interval(mine_ms, mine_ms, mine_ms, 1.0)
        intervals[CHAMPION][LATENCY_METRIC] = Interval(other_ms, other_ms, other_ms, 1.0)
        change = mine_ms - other_ms
        deltas[LATENCY_METRIC] = DeltaEstimate(
            delta=change, ci_low=change, ci_high=change,
            relative=change / other_ms if other_ms else float("nan"),
            champion=other_ms, challenger=mine_ms, confidence=1.0, resamples=0,
        )  # fmt: skip
    labels = segment_users(train, ours.users)
    segments: list[SegmentDelta] = []
    for segment in SEGMENTS:
        mask = labels == segment
        if int(mask.sum()) < 2:
            continue
        part = compare(ours.select(mask), theirs.select(mask), per_user, seed=seed,
                       resamples=boot.resamples, confidence=boot.confidence)  # fmt: skip
        segments.extend(
            SegmentDelta(segment, int(mask.sum()), metric, part[metric]) for metric in per_user
        )
    return Measurement(
        users=len(ours),
        metrics=spec.metrics,
        arms=intervals,
        deltas=deltas,
        segments=tuple(segments),
        latency=latency,
        champion_latency=champion_latency,
        decision=_decide(spec, rule, deltas, latency),
        rule=rule,
    )


def decision_rule(spec: ExperimentRunSpec) -> DecisionRule:
    """The spec's decision rule: success metrics, relative guardrails, the latency budget,
    the bootstrap's confidence and its resamples as the minimum (the control plane's
    CreateExperiment records the same rule from the ExperimentSpec the run sends, with
    the multiplicity it chooses: `record.recorded_rule` is the rule a run decides by)."""
    return DecisionRule(
        success_metrics=tuple(
            SuccessMetric(metric, metric_direction(metric)) for metric in spec.success_metrics
        ),
        guardrails=tuple(Guardrail(g.metric, g.margin, g.direction) for g in spec.guardrails),
        budgets=() if spec.latency is None else (Budget(LATENCY_METRIC, spec.latency.max_ms),),
        confidence=spec.bootstrap.confidence,
        min_resamples=spec.bootstrap.resamples,
    )


def _decide(
    spec: ExperimentRunSpec,
    rule: DecisionRule,
    deltas: Mapping[str, DeltaEstimate],
    latency: LatencyResult | None,
) -> Decision:
    if spec.latency is not None and latency is None:
        raise ValueError("the spec has a latency budget but the challenger has no model to time")
    return decide(rule, deltas)
