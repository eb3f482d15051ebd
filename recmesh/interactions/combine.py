"""A dataset with logged interactions appended: every interaction known."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from recmesh.data.dataset import Dataset, Interactions
from recmesh.data.fingerprint import fingerprint_interactions

LOGGED_SUFFIX = "+log"


def with_logged_rows(dataset: Dataset, logged: Interactions) -> Dataset:
    """The dataset with the logged rows after its own, its fingerprint that of all the
    rows and its name marked; the dataset itself when nothing was logged."""
    if len(logged) == 0:
        return dataset
    base = dataset.interactions
    interactions = Interactions(
        users=np.concatenate([base.users, logged.users]),
        items=np.concatenate([base.items, logged.items]),
        ratings=np.concatenate([base.ratings, logged.ratings.astype(base.ratings.dtype)]),
        timestamps=np.concatenate([base.timestamps, logged.timestamps]),
    )
    return replace(
        dataset,
        name=f"{dataset.name}{LOGGED_SUFFIX}",
        interactions=interactions,
        fingerprint=fingerprint_interactions(interactions),
    )
