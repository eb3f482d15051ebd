"""The control plane messages of a run: its ExperimentSpec, its lineage, its Evaluation."""

from __future__ import annotations

import math

from offline.decision import Direction, Verdict
from offline.experiment.measure import CHALLENGER, CHAMPION, Measurement
from offline.experiment.spec import LATENCY_METRIC, ExperimentRunSpec
from offline.stats.bootstrap import DeltaEstimate
from recmesh.controlplane.v1 import records_pb2

_DIRECTIONS = {
    Direction.HIGHER_IS_BETTER: records_pb2.METRIC_DIRECTION_HIGHER_IS_BETTER,
    Direction.LOWER_IS_BETTER: records_pb2.METRIC_DIRECTION_LOWER_IS_BETTER,
}


def experiment_spec(
    spec: ExperimentRunSpec, challenger_version: str, dataset_name: str, dataset_fingerprint: str
) -> records_pb2.ExperimentSpec:
    """The control plane's ExperimentSpec. The latency budget is absolute, not a margin
    relative to the champion, so it is stated in the description, not as a Guardrail."""
    description = spec.description.strip()
    if spec.latency is not None:
        budget = (
            f"latency budget: {LATENCY_METRIC} <= {spec.latency.max_ms:g} ms "
            f"({spec.latency.candidates} candidates)"
        )
        description = f"{description}\n{budget}" if description else budget
    return records_pb2.ExperimentSpec(
        name=spec.name,
        description=description,
        challenger_version=challenger_version,
        dataset_name=dataset_name,
        dataset_fingerprint=dataset_fingerprint,
        split=spec.split,
        metrics=list(spec.metrics),
        success_metrics=list(spec.success_metrics),
        guardrails=[
            records_pb2.Guardrail(
                metric=g.metric, margin=g.margin, direction=_DIRECTIONS[g.direction]
            )
            for g in spec.guardrails
        ],
        approvals_required=spec.approvals_required,
    )


def lineage(spec: ExperimentRunSpec, code_revision: str) -> records_pb2.Lineage:
    """Where the challenger came from: split, training parameters, code revision."""
    params = dict(spec.training.xgboost.as_params())
    params["seed"] = str(spec.seed)
    params["candidates"] = str(spec.candidates.n)
    params["labels"] = (
        f"{spec.training.labels.kind}:{spec.training.labels.fraction:g}"
        f"x{spec.training.labels.folds}"
    )
    params["negatives_per_user"] = str(spec.training.negatives_per_user)
    params["snapshot"] = spec.candidates.snapshot.to_json()
    params["features"] = "all" if spec.training.features is None else ",".join(
        spec.training.features
    )
    return records_pb2.Lineage(split=spec.split, training_params=params,
                               code_revision=code_revision)


def evaluation_message(
    experiment: records_pb2.Experiment,
    measurement: Measurement,
    report_uri: str,
    spec: ExperimentRunSpec,
) -> records_pb2.Evaluation:
    """The Evaluation of `experiment`, ready for RecordEvaluation."""
    passed = measurement.decision.verdict is Verdict.PASS
    arms = []
    for arm, version in (
        (CHAMPION, experiment.champion_version),
        (CHALLENGER, experiment.spec.challenger_version),
    ):
        values = measurement.arms[arm]
        arms.append(
            records_pb2.ArmResult(
                arm=arm,
                serving_version=version,
                metrics=[
                    records_pb2.MetricValue(
                        metric=metric,
                        value=values[metric].value,
                        ci_low=values[metric].low,
                        ci_high=values[metric].high,
                    )
                    for metric in measurement.metrics
                ],
            )
        )
    return records_pb2.Evaluation(
        experiment_id=experiment.experiment_id,
        challenger_version=experiment.spec.challenger_version,
        champion_version=experiment.champion_version,
        champion_pointer_revision=experiment.champion_pointer_revision,
        dataset_fingerprint=experiment.spec.dataset_fingerprint,
        arms=arms,
        deltas=[_delta(metric, measurement.deltas[metric]) for metric in measurement.metrics],
        segments=[
            records_pb2.SegmentResult(
                segment=s.segment,
                users=s.users,
                metric=s.metric,
                champion=s.delta.champion,
                challenger=s.delta.challenger,
                delta=_delta(s.metric, s.delta),
            )
            for s in measurement.segments
        ],
        verdict=records_pb2.VERDICT_PASS if passed else records_pb2.VERDICT_FAIL,
        reasons=list(verdict_reasons(measurement, spec)),
        report_uri=report_uri,
        bootstrap_resamples=spec.bootstrap.resamples,
        seed=spec.seed,
    )


def verdict_reasons(measurement: Measurement, spec: ExperimentRunSpec) -> tuple[str, ...]:
    """Why the verdict is what it is: a FAIL's failed conditions; for a PASS, each improved
    success metric with its interval and the guardrails that held."""
    if measurement.decision.verdict is Verdict.FAIL:
        return measurement.decision.reasons
    reasons = []
    for metric in measurement.decision.passed_success_metrics:
        d = measurement.deltas[metric]
        reasons.append(
            f"{metric} improved by {d.delta:+.4f} ({_percent(d.relative)}), "
            f"{d.confidence * 100:g}% CI [{d.ci_low:+.4f}, {d.ci_high:+.4f}]"
        )
    held = [g.metric for g in spec.guardrails]
    if spec.latency is not None and measurement.latency is not None:
        held.append(
            f"{LATENCY_METRIC} {measurement.latency.p99_ms:.2f} <= {spec.latency.max_ms:g} ms"
        )
    if held:
        reasons.append(f"guardrails held: {', '.join(held)}")
    return tuple(reasons)


def _delta(metric: str, d: DeltaEstimate) -> records_pb2.MetricDelta:
    return records_pb2.MetricDelta(
        metric=metric,
        delta=d.delta,
        ci_low=d.ci_low,
        ci_high=d.ci_high,
        relative=0.0 if math.isnan(d.relative) else d.relative,
    )


def _percent(relative: float) -> str:
    return "n/a" if math.isnan(relative) else f"{relative * 100:+.1f}%"
