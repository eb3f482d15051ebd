"""The rows tuning is handed: the TRAIN split, split again the way the test split was.

`tuning_data` takes the experiment's TRAIN split (never its test split) and divides it
like the test split divides the dataset: the same kind and fraction (stratified by user
or by item with a seed of its own, or the latest rows in time for a time split). Trials
train on the first part (`fit`) and are scored on the users of the second
(`validation`). The dataset it carries holds TRAIN's rows only, so nothing downstream
can reach a test row through it either.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from offline.splits.spec import SplitSpec
from recmesh.data.dataset import Dataset, Interactions
from recmesh.data.fingerprint import fingerprint_interactions

#: Offsets the hold-out's seed from the test split's, so the two splits differ.
_HOLDOUT_SEED_SALT = 7_919


@dataclass(frozen=True)
class TuningData:
    """`dataset`: the catalogue and users, with TRAIN's rows as its interactions; `split`:
    how TRAIN was divided (the label folds of each trial are held out like it); `fit` and
    `validation`: the two parts, disjoint, together exactly TRAIN."""

    dataset: Dataset
    split: SplitSpec
    fit: Interactions
    validation: Interactions

    @property
    def validation_users(self) -> NDArray[np.int64]:
        users: NDArray[np.int64] = np.unique(self.validation.users).astype(np.int64)
        return users


def holdout_split(test_split: SplitSpec, seed: int) -> SplitSpec:
    """The split of TRAIN shaped like `test_split`: same kind and fraction, another seed."""
    if not test_split.kind.is_stratified:
        return test_split
    return replace(test_split, seed=(seed + _HOLDOUT_SEED_SALT) % 2**32)


def tuning_data(
    dataset: Dataset, train: Interactions, test_split: SplitSpec, seed: int
) -> TuningData:
    """TRAIN (`train`, the experiment's TRAIN split) divided for tuning; `dataset` gives
    the catalogue and user table only: its interactions are replaced by `train`."""
    split = holdout_split(test_split, seed)
    fit, validation = split.apply(train)
    train_only = replace(
        dataset,
        name=f"{dataset.name}[TRAIN of {test_split}]",
        interactions=train,
        fingerprint=fingerprint_interactions(train),
    )
    return TuningData(dataset=train_only, split=split, fit=fit, validation=validation)
