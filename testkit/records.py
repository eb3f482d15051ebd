"""Control-plane records for tests and benchmarks: an experiment spec, an evaluation of it
whose evidence agrees with its verdict, one more metric's evidence shown consistently, and a
forger's consistent restatement of one metric."""

from __future__ import annotations

from typing import Any

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.decision import DEFAULT_CONFIDENCE, DEFAULT_MIN_RESAMPLES

DATASET_FINGERPRINT = "ds-toy-1"


def spec_for(challenger: str, **fields: Any) -> records_pb2.ExperimentSpec:
    spec = records_pb2.ExperimentSpec(
        name="deeper-trees",
        challenger_version=challenger,
        dataset_name="toy",
        dataset_fingerprint=DATASET_FINGERPRINT,
        split="user_stratified:0.75:seed=42",
        metrics=["ndcg@10", "recall@10", "coverage"],
        success_metrics=["ndcg@10"],
        guardrails=[
            records_pb2.Guardrail(
                metric="coverage",
                margin=0.02,
                direction=records_pb2.METRIC_DIRECTION_HIGHER_IS_BETTER,
            )
        ],
    )
    for name, value in fields.items():
        setattr(spec, name, value)
    return spec


def evaluation_for(
    experiment: records_pb2.Experiment,
    verdict: int = records_pb2.VERDICT_PASS,
    model_sha256: str = "",
) -> records_pb2.Evaluation:
    """An evaluation of the experiment; `model_sha256` is the challenger's model file (the
    control plane records only an evaluation of the model the challenger serves)."""
    passed = verdict == records_pb2.VERDICT_PASS
    # The evidence of spec_for's rule, consistent with the verdict: ndcg@10's interval
    # clears zero only for a PASS; coverage stays within its 2 % margin either way.
    evidence = [
        _evidence("ndcg@10", 0.30, 0.33, 0.01 if passed else -0.01, 0.05),
        _evidence("coverage", 0.50, 0.50, -0.005, 0.005),
    ]
    return records_pb2.Evaluation(
        experiment_id=experiment.experiment_id,
        challenger_version=experiment.spec.challenger_version,
        champion_version=experiment.champion_version,
        champion_pointer_revision=experiment.champion_pointer_revision,
        dataset_fingerprint=experiment.spec.dataset_fingerprint,
        arms=[
            _arm("champion", experiment.champion_version, {e.metric: e.champion for e in evidence}),
            _arm(
                "challenger",
                experiment.spec.challenger_version,
                {e.metric: e.challenger for e in evidence},
            ),
        ],
        deltas=[
            records_pb2.MetricDelta(
                metric=e.metric, delta=e.delta, ci_low=e.ci_low, ci_high=e.ci_high
            )
            for e in evidence
        ],
        evidence=evidence,
        verdict=verdict,  # type: ignore[arg-type]
        report_uri="file:///tmp/report.html",
        bootstrap_resamples=DEFAULT_MIN_RESAMPLES,
        seed=42,
        challenger_model_sha256=model_sha256,
    )


def restate(
    evaluation: records_pb2.Evaluation,
    metric: str,
    *,
    challenger: float,
    ci_low: float,
    ci_high: float,
) -> None:
    """Changes the challenger's value of `metric` and the delta's interval everywhere the
    evaluation shows them (evidence, deltas, the challenger arm), as a consistent forger
    would; the delta becomes challenger - champion."""
    (item,) = [e for e in evaluation.evidence if e.metric == metric]
    item.challenger, item.ci_low, item.ci_high = challenger, ci_low, ci_high
    item.delta = challenger - item.champion
    for shown in evaluation.deltas:
        if shown.metric == metric:
            shown.delta, shown.ci_low, shown.ci_high = item.delta, ci_low, ci_high
    for arm in evaluation.arms:
        for value in arm.metrics:
            if arm.arm == "challenger" and value.metric == metric:
                value.value = value.ci_low = value.ci_high = challenger


def add_evidence(
    evaluation: records_pb2.Evaluation,
    metric: str,
    *,
    champion: float,
    challenger: float,
    ci_low: float,
    ci_high: float,
    p_increase: float | None = None,
) -> None:
    """Adds `metric`'s evidence (with its p-value of an increase when given) and shows it
    in the deltas and both arms, as the runner would."""
    item = _evidence(metric, champion, challenger, ci_low, ci_high)
    if p_increase is not None:
        item.p_increase = p_increase
    evaluation.evidence.append(item)
    evaluation.deltas.append(
        records_pb2.MetricDelta(metric=metric, delta=item.delta, ci_low=ci_low, ci_high=ci_high)
    )
    for arm in evaluation.arms:
        value = champion if arm.arm == "champion" else challenger
        arm.metrics.append(
            records_pb2.MetricValue(metric=metric, value=value, ci_low=value, ci_high=value)
        )


def _arm(arm: str, version: str, values: dict[str, float]) -> records_pb2.ArmResult:
    return records_pb2.ArmResult(
        arm=arm,
        serving_version=version,
        metrics=[
            records_pb2.MetricValue(metric=metric, value=value, ci_low=value, ci_high=value)
            for metric, value in values.items()
        ],
    )


def _evidence(
    metric: str, champion: float, challenger: float, ci_low: float, ci_high: float
) -> records_pb2.MetricEvidence:
    return records_pb2.MetricEvidence(
        metric=metric,
        champion=champion,
        challenger=challenger,
        delta=challenger - champion,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=DEFAULT_CONFIDENCE,
        resamples=DEFAULT_MIN_RESAMPLES,
    )
