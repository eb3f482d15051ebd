"""What callers submit is checked field by field, with a message saying what to fix."""

from __future__ import annotations

import pytest

from control_plane.validation import validate_evaluation, validate_spec
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rpc.errors import InvalidArgumentError
from testkit.records import evaluation_for, spec_for

CHALLENGER = "sv-00112233445566aa"


def test_good_spec_passes() -> None:
    """The harness's spec is valid as it stands."""
    validate_spec(spec_for(CHALLENGER))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "spec.name is empty"),
        ({"challenger_version": ""}, "spec.challenger_version is empty"),
        ({"challenger_version": "model-7"}, "is not a serving version id"),
        ({"dataset_fingerprint": " "}, "spec.dataset_fingerprint is empty"),
        ({"split": ""}, "spec.split is empty"),
        ({"approvals_required": 11}, "at most 10"),
    ],
)
def test_bad_scalar_fields_are_named(fields: dict[str, object], message: str) -> None:
    """Empty ids, malformed version ids and excessive approvals are INVALID_ARGUMENT."""
    with pytest.raises(InvalidArgumentError, match=message):
        validate_spec(spec_for(CHALLENGER, **fields))


def test_metric_lists_are_checked() -> None:
    """No metrics, duplicate metrics, no success metric, or one outside metrics: refused."""
    spec = spec_for(CHALLENGER)
    del spec.metrics[:]
    with pytest.raises(InvalidArgumentError, match=r"spec\.metrics is empty"):
        validate_spec(spec)
    spec = spec_for(CHALLENGER)
    spec.metrics.append("ndcg@10")
    with pytest.raises(InvalidArgumentError, match="names 'ndcg@10' twice"):
        validate_spec(spec)
    spec = spec_for(CHALLENGER)
    del spec.success_metrics[:]
    with pytest.raises(InvalidArgumentError, match="at least one metric that must improve"):
        validate_spec(spec)
    spec = spec_for(CHALLENGER)
    spec.success_metrics.append("mrr")
    with pytest.raises(InvalidArgumentError, match="success metric 'mrr' is not among"):
        validate_spec(spec)


@pytest.mark.parametrize(
    ("guardrail", "message"),
    [
        (
            records_pb2.Guardrail(metric="latency", margin=0.1, direction=1),  # type: ignore[arg-type]
            "guardrail metric 'latency' is not among",
        ),
        (
            records_pb2.Guardrail(metric="coverage", margin=-0.01, direction=1),  # type: ignore[arg-type]
            "margin must be between 0 and 1",
        ),
        (
            records_pb2.Guardrail(metric="coverage", margin=float("nan"), direction=1),  # type: ignore[arg-type]
            "margin must be between 0 and 1",
        ),
        (records_pb2.Guardrail(metric="coverage", margin=0.02), "direction is unspecified"),
    ],
)
def test_guardrails_are_checked(guardrail: records_pb2.Guardrail, message: str) -> None:
    """Guardrails on unknown metrics, with negative or NaN margins or no direction: refused."""
    spec = spec_for(CHALLENGER)
    del spec.guardrails[:]
    spec.guardrails.append(guardrail)
    with pytest.raises(InvalidArgumentError, match=message):
        validate_spec(spec)


def _experiment() -> records_pb2.Experiment:
    return records_pb2.Experiment(
        experiment_id="exp-1",
        spec=spec_for(CHALLENGER),
        champion_version="sv-99887766554433aa",
        champion_pointer_revision=12,
    )


def test_matching_evaluation_passes() -> None:
    """The harness's evaluation matches the experiment it was built for."""
    validate_evaluation(evaluation_for(_experiment()), _experiment())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("challenger_version", "sv-0000000000000000"),
        ("champion_version", "sv-0000000000000000"),
        ("champion_pointer_revision", 11),
        ("dataset_fingerprint", "other"),
    ],
)
def test_evaluation_must_match_the_experiment(field: str, value: object) -> None:
    """An evaluation of another challenger, champion, pointer revision or dataset is refused."""
    evaluation = evaluation_for(_experiment())
    setattr(evaluation, field, value)
    with pytest.raises(InvalidArgumentError, match=f"evaluation.{field} is"):
        validate_evaluation(evaluation, _experiment())


def test_evaluation_contents_are_checked() -> None:
    """Unspecified verdicts, unknown arms and inverted intervals fail."""
    experiment = _experiment()
    evaluation = evaluation_for(experiment)
    evaluation.verdict = records_pb2.VERDICT_UNSPECIFIED
    with pytest.raises(InvalidArgumentError, match="VERDICT_PASS or VERDICT_FAIL"):
        validate_evaluation(evaluation, experiment)
    evaluation = evaluation_for(experiment)
    evaluation.arms[0].arm = "treatment"
    with pytest.raises(InvalidArgumentError, match="neither 'champion' nor 'challenger'"):
        validate_evaluation(evaluation, experiment)
    evaluation = evaluation_for(experiment)
    evaluation.deltas[0].ci_low = 0.9
    with pytest.raises(InvalidArgumentError, match="is above ci_high"):
        validate_evaluation(evaluation, experiment)
    evaluation = evaluation_for(experiment)
    evaluation.deltas[0].metric = "mrr"
    with pytest.raises(InvalidArgumentError, match="'mrr' is not among"):
        validate_evaluation(evaluation, experiment)
