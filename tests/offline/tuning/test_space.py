"""The `tuning:` block: parsed, and refused with the field named when it cannot run."""

from __future__ import annotations

from typing import Any

import pytest

from offline.experiment.spec_loading import load_spec, parse_spec
from offline.tuning.space import Choice, FloatRange, IntRange, Parameter, with_values
from recmesh.files.repo_paths import REPO_ROOT
from tests.offline.tuning.specs import tuning_spec


def test_the_shipped_spec_declares_its_search_space() -> None:
    """experiments/xgb-challenger.yaml tunes folds, objective and the XGBoost parameters on
    NDCG@10, and its own values lie inside the space."""
    spec = load_spec(REPO_ROOT / "experiments" / "xgb-challenger.yaml")
    assert spec.tuning is not None
    assert spec.tuning.metric == "ndcg@10"
    folds = spec.tuning.parameter("training.labels.folds")
    assert folds is not None
    assert folds.contains(spec.training.labels.folds)
    objective = spec.tuning.parameter("training.xgboost.objective")
    assert objective is not None
    assert isinstance(objective.distribution, Choice)


def test_ranges_are_typed_by_their_bounds() -> None:
    """Integer bounds make an integer range, any float bound a float range; choices stay."""
    tuning = parse_spec(tuning_spec()).tuning
    assert tuning is not None
    kinds = {p.path: type(p.distribution) for p in tuning.space}
    assert kinds == {
        "training.labels.folds": IntRange,
        "training.xgboost.learning_rate": FloatRange,
        "training.xgboost.objective": Choice,
    }
    rate = tuning.parameter("training.xgboost.learning_rate")
    assert rate is not None
    assert rate.distribution == FloatRange(0.05, 0.3, log=True)


def _space(**space: Any) -> dict[str, Any]:
    return tuning_spec(space=space)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (tuning_spec(metric="latency_p99_ms"), "tuning.metric", "measured metric"),
        (tuning_spec(metric="ndcg@5"), "tuning.metric", "measured metric"),
        (tuning_spec(trial=3), "tuning.trial", "unknown field"),
        (_space(), "tuning.space", "names no field"),
        (_space(**{"split": {"choices": ["a", "b"]}}), "tuning.space.split", "only fields under"),
        (_space(**{"training.xgboost.nthread": {"low": 1, "high": 2}}),
         "tuning.space.training.xgboost.nthread", "only fields under"),
        (_space(**{"training.xgboost.max_depth": {"low": 3, "high": 20}}),
         "tuning.space.training.xgboost.max_depth", "20 makes an invalid spec"),
        (_space(**{"training.xgboost.learnin_rate": {"low": 0.1, "high": 0.2}}),
         "tuning.space.training.xgboost.learnin_rate", "unknown field"),
        (_space(**{"training.xgboost.objective": {"choices": ["rank:ndcg", "rank:bogus"]}}),
         "tuning.space.training.xgboost.objective", "'rank:bogus' makes an invalid spec"),
        (_space(**{"training.xgboost.max_depth": {"low": 6, "high": 6}}),
         "tuning.space.training.xgboost.max_depth", "must be below high"),
        (_space(**{"training.xgboost.reg_lambda": {"low": 0.0, "high": 1.0, "log": True}}),
         "tuning.space.training.xgboost.reg_lambda.low", "positive on a log scale"),
        (_space(**{"training.xgboost.max_depth": {"low": 3}}),
         "tuning.space.training.xgboost.max_depth.high", "is missing"),
    ],
)  # fmt: skip
def test_a_block_that_cannot_run_is_refused_naming_the_field(
    body: dict[str, Any], field: str, message: str
) -> None:
    """Each problem raises SpecError naming the field, before anything runs."""
    from offline.experiment.spec_fields import SpecError

    with pytest.raises(SpecError) as raised:
        parse_spec(body)
    assert raised.value.field == field
    assert message in str(raised.value)


def test_a_spec_without_tuning_has_none() -> None:
    """The block is optional; a run ignores it either way."""
    body = tuning_spec()
    del body["tuning"]
    assert parse_spec(body).tuning is None


def test_with_values_sets_dotted_paths_on_a_copy() -> None:
    """Values land at their paths, missing mappings are created, the original is unchanged."""
    body = {"training": {"xgboost": {"max_depth": 6}}}
    changed = with_values(body, {"training.xgboost.max_depth": 4, "training.labels.folds": 3})
    assert changed == {"training": {"xgboost": {"max_depth": 4}, "labels": {"folds": 3}}}
    assert body == {"training": {"xgboost": {"max_depth": 6}}}


def test_contains_respects_the_distribution() -> None:
    """An integer range holds integers within its bounds only; a choice its options."""
    depth = Parameter("training.xgboost.max_depth", IntRange(3, 8))
    assert depth.contains(3)
    assert depth.contains(8)
    assert not depth.contains(9)
    assert not depth.contains(4.5)
    assert not depth.contains(True)
    assert Parameter("p", Choice(("a", "b"))).contains("b")
    assert not Parameter("p", FloatRange(0.1, 0.2)).contains(0.3)
