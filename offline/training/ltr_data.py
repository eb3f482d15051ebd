"""Learning-to-rank groups built from the candidate pipeline over label folds of TRAIN."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.experiment.spec import CandidateSpec, TrainingSpec
from offline.splits.spec import SplitSpec
from offline.training.groups import candidate_groups
from offline.training.labels import candidate_labels, label_folds
from recmesh.console.progress import NullProgress, Progress
from recmesh.data.dataset import Dataset, Interactions
from recmesh.snapshot.build import build_snapshot


@dataclass(frozen=True)
class LtrData:
    """Feature rows grouped by (fold, user): group g is rows offsets[g]:offsets[g + 1] with
    `labels` 1.0 for a candidate the user consumed in the fold's held-out part.
    `items` holds each row's item id; `users[g]` and `folds[g]` say whose group it is;
    `feature_names` are the columns."""

    matrix: NDArray[np.float32]
    labels: NDArray[np.float32]
    items: NDArray[np.int64]
    group_sizes: NDArray[np.int64]
    users: NDArray[np.int64]
    folds: NDArray[np.int64]
    feature_names: tuple[str, ...]
    schema_fingerprint: str

    @property
    def offsets(self) -> NDArray[np.int64]:
        offsets = np.zeros(self.group_sizes.shape[0] + 1, dtype=np.int64)
        np.cumsum(self.group_sizes, out=offsets[1:])
        return offsets


def build_ltr_data(
    dataset: Dataset,
    train: Interactions,
    candidates: CandidateSpec,
    training: TrainingSpec,
    test_split: SplitSpec,
    seed: int,
    progress: Progress | None = None,
) -> LtrData:
    """Groups of every label fold of `train` (the TRAIN split only: the caller never passes
    test rows). A group is kept only if it holds at least one positive; with
    `negatives_per_user` > 0, a seeded sample of that many negatives stays per group."""
    progress = progress or NullProgress()
    rng = np.random.default_rng(seed)
    parts: list[tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.int64], int, int]] = []
    names: tuple[str, ...] = ()
    fingerprint = ""
    folds = label_folds(train, training.labels, test_split, seed)
    for number, fold in enumerate(folds):
        snapshot = build_snapshot(dataset, fold.early, candidates.snapshot)
        users = np.unique(fold.late.users).astype(np.int64)
        groups = candidate_groups(
            snapshot, users, candidates.n, progress,
            label=f"training data, fold {number + 1}/{len(folds)}",
        )  # fmt: skip
        names, fingerprint = groups.feature_names, groups.schema_fingerprint
        labels = candidate_labels(snapshot, users, groups.lists, fold.late)
        for g, user in enumerate(users.tolist()):
            y = labels[g]
            if not y.any():
                continue
            rows = groups.rows(g)
            keep = _kept_rows(y, training.negatives_per_user, rng)
            items = snapshot.item_ids[groups.lists[g].item_indices[keep]]
            parts.append((rows[keep], y[keep], items, int(user), number))
    if not parts:
        raise ValueError("no training group has a positive label: too little training data")
    return LtrData(
        matrix=np.ascontiguousarray(np.concatenate([p[0] for p in parts]), dtype=np.float32),
        labels=np.concatenate([p[1] for p in parts]).astype(np.float32),
        items=np.concatenate([p[2] for p in parts]).astype(np.int64),
        group_sizes=np.array([p[2].shape[0] for p in parts], dtype=np.int64),
        users=np.array([p[3] for p in parts], dtype=np.int64),
        folds=np.array([p[4] for p in parts], dtype=np.int64),
        feature_names=names,
        schema_fingerprint=fingerprint,
    )


def _kept_rows(
    labels: NDArray[np.float32], negatives: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Every row, or every positive plus `negatives` random negatives, in list order."""
    if negatives == 0:
        return np.arange(labels.shape[0], dtype=np.int64)
    positives = np.flatnonzero(labels > 0)
    others = np.flatnonzero(labels == 0)
    if others.shape[0] > negatives:
        others = rng.choice(others, negatives, replace=False)
    return np.sort(np.concatenate([positives, others])).astype(np.int64)
