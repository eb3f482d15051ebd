"""The search: seeded, the spec's own values first, pruning, and the log it leaves."""

from __future__ import annotations

from offline.experiment.data import subsample_users
from offline.experiment.spec_loading import parse_spec
from offline.splits.spec import SplitSpec
from offline.tuning.holdout import tuning_data
from offline.tuning.objective import Objective
from offline.tuning.space import TuningSpec
from offline.tuning.study import COMPLETE, PRUNED, TuningResult, current_values, run_study
from recmesh.console.progress import NullProgress
from recmesh.data.dataset import Dataset
from tests.offline.tuning.specs import tuning_spec


def _study(ml100k: Dataset, trials: int, **tuning: object) -> TuningResult:
    body = tuning_spec(**tuning)
    spec = parse_spec(body)
    assert spec.tuning is not None
    dataset = subsample_users(ml100k, 120, spec.seed)
    split = SplitSpec.parse(spec.split)
    train, _ = split.apply(dataset.interactions)
    data = tuning_data(dataset, train, split, spec.seed)
    return run_study(Objective(body, spec.tuning, data, NullProgress()), spec, trials)


def test_same_spec_gives_the_same_trials_and_the_best_is_the_best(ml100k: Dataset) -> None:
    """Two searches of 4 trials draw the same values and score them the same; the first
    trial tries the spec's own values; the best is the highest complete trial."""
    first, second = _study(ml100k, 4), _study(ml100k, 4)
    assert [(t.values, t.value, t.state) for t in first.trials] == [
        (t.values, t.value, t.state) for t in second.trials
    ]
    assert len(first.trials) == 4
    assert first.baseline is first.trials[0]
    assert first.baseline.values == {
        "training.labels.folds": 1,
        "training.xgboost.learning_rate": 0.1,
        "training.xgboost.objective": "rank:ndcg",
    }
    complete = [t.value for t in first.trials if t.state == COMPLETE and t.value is not None]
    assert first.best.value == max(complete)
    assert all(t.curve for t in first.trials)


def test_poor_trials_are_pruned(ml100k: Dataset) -> None:
    """With pruning from the second trial on and a report every tree, some of 6 trials
    stop early: fewer trees than they would grow, no hold-out value."""
    result = _study(ml100k, 6, pruning={"startup_trials": 1, "warmup_trees": 1, "every_trees": 1})
    pruned = [t for t in result.trials if t.state == PRUNED]
    assert pruned
    for trial in pruned:
        assert trial.value is None
        assert trial.trees == trial.curve[-1][0]


def test_values_outside_the_space_are_not_tried_first() -> None:
    """The spec's own values are enqueued only when every one lies inside the space."""
    body = tuning_spec()
    spec = parse_spec(body)
    assert spec.tuning is not None
    assert current_values(spec, spec.tuning) is not None
    narrow = parse_spec(
        tuning_spec(space={"training.xgboost.learning_rate": {"low": 0.2, "high": 0.3}})
    ).tuning
    assert isinstance(narrow, TuningSpec)
    assert current_values(spec, narrow) is None
