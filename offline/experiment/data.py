"""The dataset a spec names, loaded (ml-100k fetched once) and optionally subsampled."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from offline.experiment.spec import DatasetSpec
from recmesh.console.progress import Progress
from recmesh.data.dataset import Dataset
from recmesh.data.fetch import fetch_ml100k
from recmesh.data.fingerprint import fingerprint_interactions
from recmesh.data.loaders import load_ml100k, load_path


def load_dataset(spec: DatasetSpec, data_dir: Path, seed: int, progress: Progress) -> Dataset:
    """The dataset of `spec`: its path, or ml-100k from (or fetched into) `data_dir`.

    With `max_users`, keeps a random subsample of that many users (drawn with `seed`)
    and every row of theirs; the subsample's fingerprint is that of its rows, and its
    name says it is a subsample.
    """
    if spec.path is not None:
        progress.start(None, f"loading {spec.path}")
        dataset = load_path(Path(spec.path), spec.log)
    else:
        directory = fetch_ml100k(data_dir, progress)
        progress.start(None, f"loading {directory}")
        dataset = load_ml100k(directory)
    progress.finish(f"{len(dataset.interactions):,} interactions")
    if spec.max_users is None:
        return dataset
    return subsample_users(dataset, spec.max_users, seed)


def subsample_users(dataset: Dataset, max_users: int, seed: int) -> Dataset:
    """`dataset` restricted to `max_users` users drawn at random with `seed` (all of them
    when there are not more)."""
    users = np.unique(dataset.interactions.users)
    if users.shape[0] <= max_users:
        return dataset
    kept = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    interactions = dataset.interactions.select(np.isin(dataset.interactions.users, kept))
    table = dataset.users
    if table is not None:
        rows = np.isin(table.user_ids, kept)
        table = replace(
            table,
            user_ids=table.user_ids[rows],
            ages=table.ages[rows],
            genders=tuple(g for g, keep in zip(table.genders, rows, strict=True) if keep),
            occupations=tuple(o for o, keep in zip(table.occupations, rows, strict=True) if keep),
        )
    return replace(
        dataset,
        name=f"{dataset.name}[{max_users} users, seed {seed}]",
        interactions=interactions,
        users=table,
        fingerprint=fingerprint_interactions(interactions),
    )
