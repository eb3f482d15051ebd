"""An experiment's decision rule: recorded from its spec, read back for `recmesh.decision`.

CreateExperiment records the rule in the experiment (`Experiment.rule`): the
spec's success metrics with the way each gets better, its guardrails with their
margins, its budgets, its confidence level and minimum resamples (defaults
0.95 and 1,000), and Holm's adjustment over several success metrics.
RecordEvaluation judges the evidence with that rule, and Promote judges it again.
An experiment recorded before the adjustment keeps the rule it was recorded with
(no adjustment), so its evaluations are judged as they were. A stored rule
recmesh.decision cannot apply (written behind the control plane) is DATA_LOSS naming
the experiment and the problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.store.errors import CorruptRecordError
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.decision import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MIN_RESAMPLES,
    Budget,
    DecisionRule,
    Direction,
    Guardrail,
    Multiplicity,
    SuccessMetric,
    metric_direction,
)
from recmesh.rpc.errors import InvalidArgumentError

_TO_PROTO = {
    Direction.HIGHER_IS_BETTER: records_pb2.METRIC_DIRECTION_HIGHER_IS_BETTER,
    Direction.LOWER_IS_BETTER: records_pb2.METRIC_DIRECTION_LOWER_IS_BETTER,
}
_FROM_PROTO = {value: key for key, value in _TO_PROTO.items()}
_MULTIPLICITY = {
    records_pb2.MULTIPLICITY_UNSPECIFIED: Multiplicity.NONE,
    records_pb2.MULTIPLICITY_HOLM: Multiplicity.HOLM,
}


def rule_message(spec: records_pb2.ExperimentSpec) -> records_pb2.DecisionRule:
    """The rule a (validated) spec states, with the defaults filled in."""
    return records_pb2.DecisionRule(
        success_metrics=[
            records_pb2.SuccessCriterion(metric=name, direction=_TO_PROTO[metric_direction(name)])
            for name in spec.success_metrics
        ],
        guardrails=list(spec.guardrails),
        budgets=list(spec.budgets),
        confidence=spec.confidence or DEFAULT_CONFIDENCE,
        min_resamples=spec.min_resamples or DEFAULT_MIN_RESAMPLES,
        multiplicity=records_pb2.MULTIPLICITY_HOLM,
    )


@dataclass(frozen=True)
class RuleFloors:
    """The weakest rule the control plane records: a spec may ask for more confidence and
    more resamples, never less (ControlPlaneConfig.confidence_floor, resamples_floor)."""

    confidence: float
    resamples: int


def check_floors(experiment_rule: records_pb2.DecisionRule, floors: RuleFloors) -> None:
    """Raises InvalidArgumentError naming the floor a rule (defaults filled in) is under."""
    if experiment_rule.confidence < floors.confidence:
        raise InvalidArgumentError(
            f"spec.confidence {experiment_rule.confidence:g} is below the control plane's "
            f"floor of {floors.confidence:g} (--confidence-floor): an interval at a lower "
            "confidence proves too little"
        )
    if experiment_rule.min_resamples < floors.resamples:
        raise InvalidArgumentError(
            f"spec.min_resamples {experiment_rule.min_resamples} is below the control plane's "
            f"floor of {floors.resamples} (--resamples-floor): fewer bootstrap resamples give "
            "intervals too rough to judge"
        )


def recorded_rule(experiment: records_pb2.Experiment) -> DecisionRule:
    """The experiment's recorded rule (derived from its spec, without the Holm adjustment
    that came later, for an experiment recorded before rules were). Raises
    CorruptRecordError (DATA_LOSS) for a rule recmesh.decision cannot apply, naming the
    experiment and the problem."""
    if experiment.HasField("rule"):
        message = experiment.rule
    else:
        message = rule_message(experiment.spec)
        message.multiplicity = records_pb2.MULTIPLICITY_UNSPECIFIED
    try:
        return DecisionRule(
            success_metrics=tuple(
                SuccessMetric(s.metric, _direction(s.metric, s.direction))
                for s in message.success_metrics
            ),
            guardrails=tuple(
                Guardrail(g.metric, g.margin, _direction(g.metric, g.direction))
                for g in message.guardrails
            ),
            budgets=tuple(Budget(b.metric, b.max) for b in message.budgets),
            confidence=message.confidence,
            min_resamples=message.min_resamples,
            multiplicity=_multiplicity(message.multiplicity),
        )
    except ValueError as exc:
        raise CorruptRecordError(
            f"experiment {experiment.experiment_id}: its recorded decision rule cannot be "
            f"applied: {exc}"
        ) from exc


def declared_direction(value: records_pb2.MetricDirection.ValueType) -> Direction | None:
    """The direction a MetricDirection names; None for UNSPECIFIED or an unknown value."""
    return _FROM_PROTO.get(value)


def _direction(metric: str, value: records_pb2.MetricDirection.ValueType) -> Direction:
    direction = declared_direction(value)
    if direction is None:
        raise ValueError(f"metric {metric!r} has no direction (higher or lower is better?)")
    return direction


def _multiplicity(value: records_pb2.Multiplicity.ValueType) -> Multiplicity:
    multiplicity = _MULTIPLICITY.get(value)
    if multiplicity is None:
        raise ValueError(f"multiplicity {value} is not one this control plane knows")
    return multiplicity
