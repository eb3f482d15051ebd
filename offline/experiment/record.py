"""The control plane messages of a run: its ExperimentSpec, its lineage, its Evaluation."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from offline.decision import DecisionRule, Direction, Multiplicity, Verdict
from offline.decision import verdict_reasons as shared_reasons
from offline.errors import OfflineError
from offline.experiment.measure import CHALLENGER, CHAMPION, Measurement, decision_rule
from offline.experiment.spec import ExperimentRunSpec
from offline.stats.bootstrap import DeltaEstimate
from recmesh.api.controlplane.v1 import records_pb2

_DIRECTIONS = {
    Direction.HIGHER_IS_BETTER: records_pb2.METRIC_DIRECTION_HIGHER_IS_BETTER,
    Direction.LOWER_IS_BETTER: records_pb2.METRIC_DIRECTION_LOWER_IS_BETTER,
}
# As the control plane reads a recorded rule (control_plane/decision_rules.py): a rule
# without a multiplicity is one recorded before the adjustment.
_MULTIPLICITIES = {
    records_pb2.MULTIPLICITY_UNSPECIFIED: Multiplicity.NONE,
    records_pb2.MULTIPLICITY_HOLM: Multiplicity.HOLM,
}


class RecordedRuleError(OfflineError, ValueError):
    """The experiment's recorded rule adjusts several success metrics in a way this
    runner does not know, so it cannot decide as the control plane will."""


def experiment_spec(
    spec: ExperimentRunSpec, challenger_version: str, dataset_name: str, dataset_fingerprint: str
) -> records_pb2.ExperimentSpec:
    """The control plane's ExperimentSpec, stating the run's decision rule
    (`measure.decision_rule`): the latency budget is absolute (a MetricBudget, not a
    relative Guardrail), the minimum resamples are the bootstrap's."""
    rule = decision_rule(spec)
    return records_pb2.ExperimentSpec(
        name=spec.name,
        description=spec.description.strip(),
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
        budgets=[records_pb2.MetricBudget(metric=b.metric, max=b.max) for b in rule.budgets],
        confidence=rule.confidence,
        min_resamples=rule.min_resamples,
    )


def recorded_rule(spec: ExperimentRunSpec, experiment: records_pb2.Experiment) -> DecisionRule:
    """The rule the control plane judges `experiment`'s evaluation by, and so the rule the
    run decides by: the spec's (CreateExperiment recorded it from the ExperimentSpec the
    run sent) with the multiplicity CreateExperiment recorded, none when the control plane
    records none (it then judges without an adjustment). Raises RecordedRuleError for a
    multiplicity this runner does not know."""
    recorded = (
        experiment.rule.multiplicity
        if experiment.HasField("rule")
        else records_pb2.MULTIPLICITY_UNSPECIFIED
    )
    multiplicity = _MULTIPLICITIES.get(recorded)
    if multiplicity is None:
        raise RecordedRuleError(
            f"experiment {experiment.experiment_id} is judged with multiplicity {recorded}, "
            "which this runner does not know: update recmesh"
        )
    return replace(decision_rule(spec), multiplicity=multiplicity)


def lineage(
    spec: ExperimentRunSpec,
    code_revision: str,
    log_rows: Mapping[str, int] | None = None,
    engine: Mapping[str, str] | None = None,
) -> records_pb2.Lineage:
    """Where the challenger came from: split, training parameters, code revision, the
    interaction log lines its data includes, and how it was trained (`engine`, the
    trained ranker's: `engine` xgboost or xgboost.dask, `engine_versions`, and on a Dask
    cluster `dask_cluster`, `dask_workers`, `dask_threads_per_worker` and the `nthread`
    XGBoost used on each worker)."""
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
    params.update(engine or {})
    return records_pb2.Lineage(
        split=spec.split,
        training_params=params,
        code_revision=code_revision,
        interaction_log_rows=dict(log_rows or {}),
    )


def evaluation_message(
    experiment: records_pb2.Experiment,
    measurement: Measurement,
    report_uri: str,
    spec: ExperimentRunSpec,
    challenger_model_sha256: str,
) -> records_pb2.Evaluation:
    """The Evaluation of `experiment`, ready for RecordEvaluation; it names the model the
    challenger arm scored with, which the control plane checks is the challenger's."""
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
        # Evidence for every measured metric, not only the rule's: the control plane
        # requires the deltas and arms shown to be exactly the evidence judged.
        evidence=[_evidence(metric, measurement.deltas[metric]) for metric in measurement.metrics],
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
        reasons=list(verdict_reasons(measurement)),
        report_uri=report_uri,
        bootstrap_resamples=spec.bootstrap.resamples,
        seed=spec.seed,
        challenger_model_sha256=challenger_model_sha256,
    )


def verdict_reasons(measurement: Measurement) -> tuple[str, ...]:
    """Why the verdict is what it is (`recmesh.decision.verdict_reasons` under the rule the
    measurement was decided by, the sentences the control plane derives from the evidence
    too)."""
    return shared_reasons(measurement.rule, measurement.deltas, measurement.decision)


def _evidence(metric: str, d: DeltaEstimate) -> records_pb2.MetricEvidence:
    evidence = records_pb2.MetricEvidence(
        metric=metric,
        champion=d.champion,
        challenger=d.challenger,
        delta=d.delta,
        ci_low=d.ci_low,
        ci_high=d.ci_high,
        confidence=d.confidence,
        resamples=d.resamples,
    )
    # The p-values the Holm adjustment reads; a measured latency has none.
    if d.p_increase is not None:
        evidence.p_increase = d.p_increase
    if d.p_decrease is not None:
        evidence.p_decrease = d.p_decrease
    return evidence


def _delta(metric: str, d: DeltaEstimate) -> records_pb2.MetricDelta:
    return records_pb2.MetricDelta(
        metric=metric,
        delta=d.delta,
        ci_low=d.ci_low,
        ci_high=d.ci_high,
        relative=0.0 if math.isnan(d.relative) else d.relative,
    )
