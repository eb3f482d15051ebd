"""Checks of what callers submit; each failure is an InvalidArgumentError saying what to fix."""

from __future__ import annotations

import math
from collections.abc import Iterable

from control_plane.decision_rules import declared_direction
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.decision import contradicted_direction
from recmesh.rpc.errors import InvalidArgumentError
from recmesh.wire.ids import check_version_id

MAX_APPROVALS = 10
MAX_RESAMPLES = 10_000_000
MAX_TEXT = 10_000
ARMS = ("champion", "challenger")


def require(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidArgumentError(f"{field} is empty")
    if len(value) > MAX_TEXT:
        raise InvalidArgumentError(f"{field} is longer than {MAX_TEXT} characters")
    return value


def require_version_id(value: str, field: str) -> str:
    """value when it is a serving version id (recmesh/wire/ids.check_version_id), after
    the length bound every control-plane text has."""
    require(value, field)
    return check_version_id(value, field)


def _unique(names: Iterable[str], field: str) -> list[str]:
    seen: list[str] = []
    for name in names:
        require(name, f"an entry of {field}")
        if name in seen:
            raise InvalidArgumentError(f"{field} names {name!r} twice")
        seen.append(name)
    return seen


def validate_spec(spec: records_pb2.ExperimentSpec) -> None:
    require(spec.name, "spec.name")
    require_version_id(spec.challenger_version, "spec.challenger_version")
    require(spec.dataset_name, "spec.dataset_name")
    require(spec.dataset_fingerprint, "spec.dataset_fingerprint")
    require(spec.split, "spec.split")
    metrics = _unique(spec.metrics, "spec.metrics")
    if not metrics:
        raise InvalidArgumentError("spec.metrics is empty: name the metrics to measure")
    success = _unique(spec.success_metrics, "spec.success_metrics")
    if not success:
        raise InvalidArgumentError(
            "spec.success_metrics is empty: name at least one metric that must improve"
        )
    for name in success:
        if name not in metrics:
            raise InvalidArgumentError(
                f"success metric {name!r} is not among spec.metrics ({', '.join(metrics)})"
            )
    _unique((guardrail.metric for guardrail in spec.guardrails), "spec.guardrails")
    for guardrail in spec.guardrails:
        if guardrail.metric not in metrics:
            raise InvalidArgumentError(
                f"guardrail metric {guardrail.metric!r} is not among spec.metrics "
                f"({', '.join(metrics)})"
            )
        if not math.isfinite(guardrail.margin) or not 0 <= guardrail.margin <= 1:
            raise InvalidArgumentError(
                f"guardrail {guardrail.metric!r}: margin must be between 0 and 1 (a relative "
                f"non-inferiority margin, 0.02 = 2 %), got {guardrail.margin}"
            )
        direction = declared_direction(guardrail.direction)
        if direction is None:
            raise InvalidArgumentError(
                f"guardrail {guardrail.metric!r}: direction is unspecified (higher or lower "
                "is better?)"
            )
        contradiction = contradicted_direction(guardrail.metric, direction)
        if contradiction is not None:
            raise InvalidArgumentError(f"guardrail {guardrail.metric!r}: {contradiction}")
    _validate_rule_fields(spec, metrics)
    if spec.approvals_required > MAX_APPROVALS:
        raise InvalidArgumentError(
            f"spec.approvals_required is {spec.approvals_required}; at most {MAX_APPROVALS}"
        )


def _validate_rule_fields(spec: records_pb2.ExperimentSpec, metrics: list[str]) -> None:
    """Budgets, confidence level and minimum resamples of the spec's decision rule."""
    _unique((budget.metric for budget in spec.budgets), "spec.budgets")
    for budget in spec.budgets:
        if budget.metric not in metrics:
            raise InvalidArgumentError(
                f"budget metric {budget.metric!r} is not among spec.metrics ({', '.join(metrics)})"
            )
        if not math.isfinite(budget.max):
            raise InvalidArgumentError(f"budget {budget.metric!r}: max must be finite")
    if spec.confidence and not (math.isfinite(spec.confidence) and 0 < spec.confidence < 1):
        raise InvalidArgumentError(
            f"spec.confidence must be between 0 and 1 (0.95 = 95 %; 0: the default), got "
            f"{spec.confidence}"
        )
    if spec.min_resamples > MAX_RESAMPLES:
        raise InvalidArgumentError(
            f"spec.min_resamples is {spec.min_resamples}; at most {MAX_RESAMPLES}"
        )


def validate_evaluation(
    evaluation: records_pb2.Evaluation, experiment: records_pb2.Experiment
) -> None:
    """The evaluation must be of this experiment's challenger against its champion, at the
    pointer revision and on the dataset the experiment was created with."""
    spec = experiment.spec
    expected = (
        ("challenger_version", evaluation.challenger_version, spec.challenger_version),
        ("champion_version", evaluation.champion_version, experiment.champion_version),
        (
            "champion_pointer_revision",
            evaluation.champion_pointer_revision,
            experiment.champion_pointer_revision,
        ),
        ("dataset_fingerprint", evaluation.dataset_fingerprint, spec.dataset_fingerprint),
    )
    for field, got, want in expected:
        if got != want:
            raise InvalidArgumentError(
                f"evaluation.{field} is {got!r} but experiment {experiment.experiment_id} has "
                f"{want!r}: an evaluation must measure exactly the experiment's challenger, "
                "champion, pointer revision and dataset"
            )
    if evaluation.verdict not in (records_pb2.VERDICT_PASS, records_pb2.VERDICT_FAIL):
        raise InvalidArgumentError("evaluation.verdict must be VERDICT_PASS or VERDICT_FAIL")
    metrics = set(spec.metrics)
    versions = {"champion": experiment.champion_version, "challenger": spec.challenger_version}
    _unique((arm.arm for arm in evaluation.arms), "evaluation.arms")
    for arm in evaluation.arms:
        if arm.arm not in ARMS:
            raise InvalidArgumentError(f"arm {arm.arm!r} is neither 'champion' nor 'challenger'")
        if arm.serving_version != versions[arm.arm]:
            raise InvalidArgumentError(
                f"arm {arm.arm!r} ran {arm.serving_version!r}, expected {versions[arm.arm]!r}"
            )
        for value in arm.metrics:
            _check_interval(
                f"arm {arm.arm} metric {value.metric}",
                value.metric,
                metrics,
                (value.value, value.ci_low, value.ci_high),
            )
    for delta in evaluation.deltas:
        _check_interval(
            f"delta {delta.metric}",
            delta.metric,
            metrics,
            (delta.delta, delta.ci_low, delta.ci_high, delta.relative),
        )
    for segment in evaluation.segments:
        require(segment.segment, "segment.segment")
        if segment.metric not in metrics:
            raise InvalidArgumentError(
                f"segment {segment.segment!r}: metric {segment.metric!r} is not measured by "
                "the experiment"
            )


def _check_interval(what: str, metric: str, metrics: set[str], values: tuple[float, ...]) -> None:
    if metric not in metrics:
        known = ", ".join(sorted(metrics))
        raise InvalidArgumentError(
            f"{what}: {metric!r} is not among the experiment's metrics ({known})"
        )
    if not all(math.isfinite(value) for value in values):
        raise InvalidArgumentError(f"{what}: values must be finite, got {values}")
    low, high = values[1], values[2]
    if low > high:
        raise InvalidArgumentError(f"{what}: ci_low {low} is above ci_high {high}")
