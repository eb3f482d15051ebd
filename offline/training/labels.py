"""Where training labels come from: the TRAIN split split again, never the test split.

A label fold divides the training interactions into an earlier part, from which
the fold's snapshot and candidates are built, and a held-out part, whose rows
label those candidates. `label_folds` only ever sees the training
interactions it is given, so no test row can become a label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.experiment.spec import LabelSpec
from offline.splits.spec import SplitKind, SplitSpec
from offline.splits.stratified import StratifyBy, stratified_split
from offline.splits.temporal import per_user_time_split
from recmesh.core.candidates.merger import CandidateList
from recmesh.data.dataset import Interactions
from recmesh.snapshot.snapshot import Snapshot


@dataclass(frozen=True)
class LabelFold:
    """`early` builds the fold's snapshot; `late` labels its candidates. Disjoint rows
    whose union is the training interactions the fold was made from."""

    early: Interactions
    late: Interactions


def resolved_kind(labels: LabelSpec, test_split: SplitSpec) -> str:
    """"time" or "random": "auto" holds labels out the way the test split holds out rows
    (random for the stratified kinds, the latest rows for the time kinds)."""
    if labels.kind != "auto":
        return labels.kind
    return "random" if test_split.kind.is_stratified else "time"


def label_folds(
    train: Interactions, labels: LabelSpec, test_split: SplitSpec, seed: int
) -> tuple[LabelFold, ...]:
    """The folds of `train` that `labels` asks for (one for "time": it has no randomness).

    "random" folds are stratified like the test split (by item for an item-stratified
    test split, else by user), each with its own seed derived from `seed`.
    """
    kind = resolved_kind(labels, test_split)
    if kind == "time":
        early, late = per_user_time_split(train, labels.fraction)
        return (LabelFold(early, late),)
    by: StratifyBy = "item" if test_split.kind is SplitKind.ITEM_STRATIFIED else "user"
    folds = []
    for fold in range(labels.folds):
        fold_seed = (seed * 1_000_003 + 7919 * (fold + 1)) % 2**32
        early, late = stratified_split(train, 1.0 - labels.fraction, fold_seed, by=by)
        folds.append(LabelFold(early, late))
    return tuple(folds)


def candidate_labels(
    snapshot: Snapshot,
    users: NDArray[np.int64],
    lists: tuple[CandidateList, ...],
    late: Interactions,
) -> tuple[NDArray[np.float32], ...]:
    """Per user, 1.0 for each candidate the user interacted with in `late`, else 0.0."""
    late_items = snapshot.item_indices_of(late.items)
    known = late_items >= 0
    keys = np.unique(late.users[known] * snapshot.n_items + late_items[known])
    result = []
    for user, candidates in zip(users.tolist(), lists, strict=True):
        wanted = int(user) * snapshot.n_items + candidates.item_indices
        result.append(np.isin(wanted, keys).astype(np.float32))
    return tuple(result)
