"""Tuning is handed rows of TRAIN only, split again the way the test split was."""

from __future__ import annotations

import pytest

from offline.experiment.data import subsample_users
from offline.splits.spec import SplitSpec
from offline.tuning.holdout import tuning_data
from recmesh.data.dataset import Dataset
from tests.offline.factories import rows_of

SPLITS = [
    "user_stratified:0.75:seed=42",
    "item_stratified:0.75:seed=42",
    "user_time:0.2",
    "global_time:0.2",
]


@pytest.mark.parametrize("split_text", SPLITS)
def test_tuning_is_handed_no_test_row(ml100k: Dataset, split_text: str) -> None:
    """Every row tuning is handed (its dataset's, the fit part's, the validation part's) is
    a TRAIN row and none a test row; fit and validation are disjoint and make up TRAIN."""
    dataset = subsample_users(ml100k, 200, seed=3)
    split = SplitSpec.parse(split_text)
    train, test = split.apply(dataset.interactions)
    data = tuning_data(dataset, train, split, seed=7)
    train_rows, test_rows = rows_of(train), rows_of(test)
    assert len(train_rows) == len(train)  # rows are told apart by (user, item, time)
    for part in (data.dataset.interactions, data.fit, data.validation):
        assert rows_of(part) <= train_rows
        assert not rows_of(part) & test_rows
    assert rows_of(data.dataset.interactions) == train_rows
    assert not rows_of(data.fit) & rows_of(data.validation)
    assert rows_of(data.fit) | rows_of(data.validation) == train_rows
    assert data.dataset.items is dataset.items


@pytest.mark.parametrize("split_text", SPLITS)
def test_holdout_is_shaped_like_the_test_split(ml100k: Dataset, split_text: str) -> None:
    """Same kind and fraction as the test split; a stratified one draws with another seed."""
    split = SplitSpec.parse(split_text)
    train, _ = split.apply(ml100k.interactions)
    data = tuning_data(ml100k, train, split, seed=42)
    assert (data.split.kind, data.split.fraction) == (split.kind, split.fraction)
    if split.kind.is_stratified:
        assert data.split.seed != split.seed
    held_out = len(data.validation) / len(train)
    expected = 1 - split.fraction if split.kind.is_stratified else split.fraction
    assert abs(held_out - expected) < 0.01


def test_time_holdout_validates_on_each_users_latest_rows(ml100k: Dataset) -> None:
    """For a per-user time split, each user's validation rows are their latest of TRAIN."""
    split = SplitSpec.parse("user_time:0.2")
    train, _ = split.apply(ml100k.interactions)
    data = tuning_data(ml100k, train, split, seed=0)
    latest_fit: dict[int, int] = {}
    for user, stamp in zip(data.fit.users.tolist(), data.fit.timestamps.tolist(), strict=True):
        latest_fit[user] = max(stamp, latest_fit.get(user, stamp))
    for user, stamp in zip(
        data.validation.users.tolist(), data.validation.timestamps.tolist(), strict=True
    ):
        assert stamp >= latest_fit.get(user, stamp)
