"""A trial trains and scores with the experiment's own code, on the hold-out of TRAIN."""

from __future__ import annotations

import numpy as np
import optuna

from offline.experiment.data import subsample_users
from offline.experiment.spec import CandidateSpec, LabelSpec, TrainingSpec
from offline.experiment.spec_loading import parse_spec
from offline.splits.spec import SplitSpec
from offline.training.ltr_data import build_ltr_data
from offline.training.trainer import train_ranker
from offline.tuning.holdout import TuningData, tuning_data
from offline.tuning.objective import Objective, first_folds
from offline.tuning.space import Value
from recmesh.console.progress import NullProgress
from recmesh.data.dataset import Dataset, Interactions
from tests.offline.tuning.specs import tuning_spec


def _pairs(interactions: Interactions) -> set[tuple[int, int]]:
    return set(zip(interactions.users.tolist(), interactions.items.tolist(), strict=True))


def _handed(ml100k: Dataset, body: dict[str, object]) -> tuple[TuningData, Interactions]:
    spec = parse_spec(body)
    dataset = subsample_users(ml100k, 120, spec.seed)
    split = SplitSpec.parse(spec.split)
    train, test = split.apply(dataset.interactions)
    return tuning_data(dataset, train, split, spec.seed), test


def test_first_folds_are_what_fewer_folds_build(ml100k: Dataset) -> None:
    """The first 2 folds of 3-fold LTR data are, array for array, the 2-fold LTR data."""
    dataset = subsample_users(ml100k, 100, seed=1)
    split = SplitSpec.parse("item_stratified:0.75:seed=42")
    train, _ = split.apply(dataset.interactions)

    def built(folds: int) -> object:
        training = TrainingSpec(labels=LabelSpec(kind="random", folds=folds), negatives_per_user=10)
        return build_ltr_data(dataset, train, CandidateSpec(n=80), training, split, seed=4)

    three, two = built(3), built(2)
    sliced = first_folds(three, 2)  # type: ignore[arg-type]
    for name in ("matrix", "labels", "items", "group_sizes", "users", "folds"):
        assert np.array_equal(getattr(sliced, name), getattr(two, name)), name
    assert int(three.folds.max()) == 2  # type: ignore[attr-defined]


def test_fold_choices_give_each_trial_the_groups_of_its_own_folds(ml100k: Dataset) -> None:
    """With folds searched over choices, a 3-fold trial after a 1-fold one gets the groups
    a fresh 3-fold build gives, not the cached 1-fold groups."""
    body = tuning_spec(space={"training.labels.folds": {"choices": [1, 3]}})
    data, _ = _handed(ml100k, body)
    objective = Objective(body, parse_spec(body).tuning, data, NullProgress())  # type: ignore[arg-type]
    for folds in (1, 3):
        spec = objective.spec({"training.labels.folds": folds})
        trial = objective.ltr_data(spec)
        fresh = build_ltr_data(data.dataset, data.fit, spec.candidates, spec.training,
                               data.split, spec.seed)  # fmt: skip
        for name in ("matrix", "labels", "items", "group_sizes", "users", "folds"):
            assert np.array_equal(getattr(trial, name), getattr(fresh, name)), (folds, name)
        assert sorted(set(trial.folds.tolist())) == list(range(folds))


def test_a_trial_with_more_folds_than_the_cache_holds_rebuilds(ml100k: Dataset) -> None:
    """A trial asking for more folds than the groups were built for (here beyond the
    space's bound) gets every fold it asks for."""
    body = tuning_spec()
    data, _ = _handed(ml100k, body)
    objective = Objective(body, parse_spec(body).tuning, data, NullProgress())  # type: ignore[arg-type]
    objective.ltr_data(objective.spec({"training.labels.folds": 1}))
    ltr = objective.ltr_data(objective.spec({"training.labels.folds": 3}))
    assert sorted(set(ltr.folds.tolist())) == [0, 1, 2]


def test_a_trial_learns_and_is_scored_on_train_rows_only(ml100k: Dataset) -> None:
    """The labels a trial learns from are (user, item) pairs of the hold-out's fit part
    and never of the test split; the rows it is scored on are no test rows either."""
    body = tuning_spec()
    data, test = _handed(ml100k, body)
    objective = Objective(body, parse_spec(body).tuning, data, NullProgress())  # type: ignore[arg-type]
    spec = objective.spec({"training.labels.folds": 2})
    ltr = objective.ltr_data(spec)
    positives = ltr.labels > 0
    users = np.repeat(ltr.users, ltr.group_sizes)
    labelled = set(zip(users[positives].tolist(), ltr.items[positives].tolist(), strict=True))
    assert labelled
    assert labelled <= _pairs(data.fit)
    assert not labelled & _pairs(test)
    assert not _pairs(data.validation) & _pairs(test)
    assert not _pairs(data.dataset.interactions) & _pairs(test)


def test_a_trial_scores_the_metric_of_its_trained_ranker(ml100k: Dataset) -> None:
    """The trial's value is the hold-out metric of the ranker its values train, and it
    records the trees kept."""
    body = tuning_spec()
    data, _ = _handed(ml100k, body)
    tuning = parse_spec(body).tuning
    assert tuning is not None
    objective = Objective(body, tuning, data, NullProgress())
    values: dict[str, Value] = {
        "training.labels.folds": 2,
        "training.xgboost.learning_rate": 0.1,
        "training.xgboost.objective": "rank:pairwise",
    }
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(values)
    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    spec = objective.spec(values)
    trained = train_ranker(objective.ltr_data(spec), spec.training, spec.seed)
    assert trial.value is not None
    assert trial.value == objective.score(spec, trained)
    assert 0 < trial.value < 1
    assert trial.user_attrs["trees"] == trained.trees


def test_a_trial_with_other_snapshot_settings_rebuilds_its_data(ml100k: Dataset) -> None:
    """Values that change the snapshot give other LTR groups (nothing stale is reused)."""
    body = tuning_spec()
    data, _ = _handed(ml100k, body)
    objective = Objective(body, parse_spec(body).tuning, data, NullProgress())  # type: ignore[arg-type]
    first = objective.ltr_data(objective.spec({}))
    other = objective.ltr_data(objective.spec({"candidates.snapshot.neighbors_per_item": 5}))
    assert (
        not np.array_equal(first.matrix, other.matrix) or first.matrix.shape != other.matrix.shape
    )


def test_objective_ignores_the_tuning_block(ml100k: Dataset) -> None:
    """A trial's spec is the spec file without its tuning: block."""
    body = tuning_spec()
    data, _ = _handed(ml100k, body)
    objective = Objective(body, parse_spec(body).tuning, data, NullProgress())  # type: ignore[arg-type]
    assert objective.spec({}).tuning is None
