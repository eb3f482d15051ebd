"""Experiment spec files: parsed into typed specs, every problem named by its field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from offline.decision import Direction
from offline.experiment.spec import LATENCY_METRIC, LatencyBudget
from offline.experiment.spec_loading import SpecError, load_spec, parse_spec
from recmesh.files.repo_paths import REPO_ROOT
from tests.offline.experiment.specs import small_spec


def _error(body: Any) -> SpecError:
    with pytest.raises(SpecError) as raised:
        parse_spec(body)
    return raised.value


@pytest.mark.parametrize(
    "name", ["xgb-challenger.yaml", "weak-challenger.yaml", "slow-challenger.yaml"]
)
def test_shipped_example_specs_load(name: str) -> None:
    """The example specs in experiments/ are valid and use 1,000 resamples; all but the
    slow challenger (whose point is that only the live guardrail sees its latency) measure
    latency offline."""
    spec = load_spec(REPO_ROOT / "experiments" / name)
    assert spec.bootstrap.resamples >= 1000
    assert (spec.latency is None) == (name == "slow-challenger.yaml")
    assert set(spec.success_metrics) <= set(spec.metrics)


def test_small_spec_parses_into_typed_fields() -> None:
    """Nested sections become dataclasses; the latency guardrail becomes a budget and its
    metric joins the metrics; a guardrail without direction takes the metric's own."""
    body = small_spec()
    body["guardrails"].append({"metric": "diversity", "margin": 0.1})
    spec = parse_spec(body)
    assert spec.dataset.max_users == 150
    assert spec.training.xgboost.n_estimators == 15
    assert spec.training.xgboost.learning_rate == 0.1
    assert spec.latency == LatencyBudget(max_ms=1000.0, candidates=500, calls=40)
    assert spec.metrics[-1] == LATENCY_METRIC
    assert LATENCY_METRIC not in spec.bootstrapped_metrics
    assert [g.metric for g in spec.guardrails] == ["coverage", "diversity"]
    assert spec.guardrails[1].direction is Direction.HIGHER_IS_BETTER


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metrics": None}, "metrics"),
        ({"seed": None}, "seed"),
        ({"dataset": {"max_users": 5}}, "dataset.name"),
        ({"metrics": ["ndcg@10", "gini"]}, "metrics"),
        ({"metrics": ["ndcg@5"]}, "metrics"),
        ({"success_metrics": ["recall@10"], "metrics": ["ndcg@10"]}, "success_metrics"),
        ({"success_metrics": []}, "success_metrics"),
        ({"split": "user_stratified:1.5"}, "split"),
        ({"k": 0}, "k"),
        ({"bootstrap": {"resamples": 10}}, "bootstrap.resamples"),
        ({"bootstrap": {"confidence": 1.0}}, "bootstrap.confidence"),
        ({"candidates": {"n": 5000}}, "candidates.n"),
        ({"candidates": {"snapshot": {"neighbors_per_item": 0}}}, "candidates.snapshot"),
        ({"candidates": {"snapshot": {"similarity": "cosine"}}}, "candidates.snapshot"),
        ({"training": {"xgboost": {"objective": "reg:squarederror"}}},
         "training.xgboost.objective"),
        ({"training": {"xgboost": {"max_depth": "6"}}}, "training.xgboost.max_depth"),
        ({"training": {"xgboost": {"eval_metric": "rmse"}}}, "training.xgboost.eval_metric"),
        ({"training": {"xgboost": {"learning_rate": 0}}}, "training.xgboost.learning_rate"),
        ({"training": {"labels": {"kind": "future"}}}, "training.labels.kind"),
        ({"training": {"labels": {"fraction": 1.0}}}, "training.labels.fraction"),
        ({"training": {"features": ["user_age", "shoe_size"]}}, "training.features"),
        ({"trainning": {}}, "trainning"),
        ({"training": {"xgboost": {"max_dept": 3}}}, "training.xgboost.max_dept"),
    ],
)  # fmt: skip
def test_invalid_field_is_named(change: dict[str, Any], field: str) -> None:
    """Missing, unknown, mistyped or out-of-range fields raise SpecError naming the field."""
    error = _error(small_spec(**change))
    assert error.field == field
    assert str(error).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("guardrail", "field"),
    [
        ({"metric": "coverage", "margin": -0.01}, "guardrails[0].margin"),
        ({"metric": "coverage", "margin": 2}, "guardrails[0].margin"),
        ({"metric": "coverage"}, "guardrails[0].margin"),
        ({"metric": "mrr@10", "margin": 0.1}, "guardrails[0].metric"),
        ({"metric": "coverage", "margin": 0.1, "direction": "up"}, "guardrails[0].direction"),
        ({"metric": "latency_p99_ms", "max": -1}, "guardrails[0].max"),
        ({"metric": "latency_p99_ms", "margin": 0.1}, "guardrails[0].margin"),
    ],
)
def test_invalid_guardrail_is_named(guardrail: dict[str, Any], field: str) -> None:
    """Negative or oversized margins, guardrails on unmeasured metrics and latency
    guardrails without a positive budget are refused."""
    assert _error(small_spec(guardrails=[guardrail])).field == field


@pytest.mark.parametrize(
    ("guardrail", "field", "message"),
    [
        ({"metric": "coverage", "margin": 0.05, "direction": "lower"}, "guardrails[0].direction",
         "coverage gets better higher, so a guardrail on it cannot declare 'lower is better'"),
        ({"metric": "diversity", "margin": 0.05, "direction": "lower"}, "guardrails[0].direction",
         "diversity gets better higher"),
        ({"metric": "latency_p99_ms", "min": 2}, "guardrails[0].min",
         "latency_p99_ms gets better lower, so its guardrail is a budget {max: MS}, never a min"),
    ],
)  # fmt: skip
def test_a_guardrail_against_its_metrics_direction_is_refused(
    guardrail: dict[str, Any], field: str, message: str
) -> None:
    """A guardrail declaring the way its metric gets worse (coverage lower-is-better, a
    minimum latency) is refused, naming the metric and the way it gets better."""
    body = small_spec(guardrails=[guardrail])
    if guardrail["metric"] != "latency_p99_ms":
        body.pop("latency")
    error = _error(body)
    assert error.field == field
    assert message in str(error)


def test_latency_in_metrics_needs_a_budget() -> None:
    """Naming latency_p99_ms as a metric without a latency guardrail is an error."""
    body = small_spec(guardrails=[], metrics=["ndcg@10", "latency_p99_ms"])
    body.pop("latency")
    assert _error(body).field == "metrics"


def test_unreadable_file_is_a_spec_error(tmp_path: Path) -> None:
    """A file that is not YAML, or not a mapping, is a SpecError too."""
    path = tmp_path / "spec.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(SpecError, match="must be a mapping"):
        load_spec(path)
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")
