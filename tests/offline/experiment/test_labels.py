"""Training labels come from the TRAIN split only, held out the way the test split holds out."""

from __future__ import annotations

import numpy as np
import pytest

from offline.experiment.data import subsample_users
from offline.experiment.spec import CandidateSpec, LabelSpec, TrainingSpec
from offline.splits.spec import SplitSpec
from offline.training.labels import label_folds, resolved_kind
from offline.training.ltr_data import build_ltr_data
from recmesh.data.dataset import Dataset, Interactions
from tests.offline.factories import rows_of


def _pairs(interactions: Interactions) -> set[tuple[int, int]]:
    return set(zip(interactions.users.tolist(), interactions.items.tolist(), strict=True))


@pytest.mark.parametrize(
    ("kind", "split", "expected"),
    [
        ("auto", "user_stratified:0.75:seed=42", "random"),
        ("auto", "item_stratified:0.75:seed=42", "random"),
        ("auto", "user_time:0.2", "time"),
        ("time", "user_stratified:0.75:seed=42", "time"),
        ("random", "global_time:0.2", "random"),
    ],
)
def test_auto_labels_follow_the_test_split(kind: str, split: str, expected: str) -> None:
    """"auto" holds labels out at random for stratified splits and by time otherwise."""
    labels = LabelSpec(kind=kind, fraction=0.2)  # type: ignore[arg-type]
    assert resolved_kind(labels, SplitSpec.parse(split)) == expected


@pytest.mark.parametrize("kind", ["time", "random"])
def test_label_folds_partition_train_and_never_touch_test(ml100k: Dataset, kind: str) -> None:
    """Each fold's early and held-out parts are disjoint, together exactly TRAIN, and share
    no row with the test split."""
    split = SplitSpec.parse("user_stratified:0.75:seed=42")
    train, test = split.apply(ml100k.interactions)
    labels = LabelSpec(kind=kind, fraction=0.2, folds=1 if kind == "time" else 2)  # type: ignore[arg-type]
    folds = label_folds(train, labels, split, seed=3)
    assert len(folds) == labels.folds
    train_rows, test_rows = rows_of(train), rows_of(test)
    for fold in folds:
        early, late = rows_of(fold.early), rows_of(fold.late)
        assert not early & late
        assert early | late == train_rows
        assert len(fold.early) + len(fold.late) == len(train)
        assert not late & test_rows
    assert abs(len(folds[0].late) / len(train) - 0.2) < 0.01


def test_time_fold_holds_out_each_users_latest_rows(ml100k: Dataset) -> None:
    """With "time", every held-out row of a user is at least as late as their early rows."""
    split = SplitSpec.parse("user_stratified:0.75:seed=42")
    train, _ = split.apply(ml100k.interactions)
    (fold,) = label_folds(train, LabelSpec(kind="time"), split, seed=0)
    latest_early: dict[int, int] = {}
    for user, stamp in zip(fold.early.users.tolist(), fold.early.timestamps.tolist(), strict=True):
        latest_early[user] = max(stamp, latest_early.get(user, stamp))
    for user, stamp in zip(fold.late.users.tolist(), fold.late.timestamps.tolist(), strict=True):
        assert stamp >= latest_early.get(user, stamp)


@pytest.mark.parametrize("kind", ["time", "random"])
def test_positive_labels_are_train_rows_never_test_rows(ml100k: Dataset, kind: str) -> None:
    """Every positive training label is a (user, item) of TRAIN and none is of the test
    split; every group holds a positive and the sampled negatives."""
    dataset = subsample_users(ml100k, 120, seed=1)
    split = SplitSpec.parse("user_stratified:0.75:seed=42")
    train, test = split.apply(dataset.interactions)
    training = TrainingSpec(
        labels=LabelSpec(kind=kind, fraction=0.2), negatives_per_user=20  # type: ignore[arg-type]
    )
    data = build_ltr_data(dataset, train, CandidateSpec(n=200), training, split, seed=5)
    positives = data.labels > 0
    users = np.repeat(data.users, data.group_sizes)
    labelled = set(zip(users[positives].tolist(), data.items[positives].tolist(), strict=True))
    assert labelled
    assert labelled <= _pairs(train)
    assert not labelled & _pairs(test)
    offsets = data.offsets
    for g in range(data.group_sizes.shape[0]):
        group = data.labels[offsets[g] : offsets[g + 1]]
        assert group.sum() >= 1
        assert (group == 0).sum() <= 20
    assert data.matrix.shape == (data.labels.shape[0], len(data.feature_names))

