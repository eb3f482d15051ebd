"""A dataset with logged interactions appended: every interaction known."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from recmesh.data.dataset import Dataset, Interactions
from recmesh.data.errors import DataFormatError
from recmesh.data.fingerprint import fingerprint_interactions
from recmesh.data.log_format import Weighting
from recmesh.interactions.log_reader import LogRead

LOGGED_SUFFIX = "+log"


def with_logged_rows(dataset: Dataset, logged: LogRead, weight: Weighting) -> Dataset:
    """The dataset with the logged rows after its own, its fingerprint that of all the
    rows and its name marked; the dataset itself when no logged row is kept.

    `weight` is the transform the dataset's own rows went through (its log format's):
    the logged rows go through it too, so a logged play count of 50 weighs log1p(50)
    beside the dataset's log1p-scaled counts, and a threshold drops the logged rows
    below it (an implicit interaction is logged as 1). Raises DataFormatError naming the
    log file and line of a negative weight under log1p.
    """
    rows = logged.interactions
    if weight.kind == "log1p" and bool((rows.ratings < 0).any()):
        row = int(np.argmax(rows.ratings < 0))
        name, line = _line_of(logged, row)
        raise DataFormatError(
            Path(name), line, f"weight {rows.ratings[row]:g}: log1p needs weights >= 0"
        )
    ratings, keep = weight.apply(rows.ratings)
    rows = replace(rows, ratings=ratings).select(keep)
    if len(rows) == 0:
        return dataset
    base = dataset.interactions
    interactions = Interactions(
        users=np.concatenate([base.users, rows.users]),
        items=np.concatenate([base.items, rows.items]),
        ratings=np.concatenate([base.ratings, rows.ratings.astype(base.ratings.dtype)]),
        timestamps=np.concatenate([base.timestamps, rows.timestamps]),
    )
    return replace(
        dataset,
        name=f"{dataset.name}{LOGGED_SUFFIX}",
        interactions=interactions,
        fingerprint=fingerprint_interactions(interactions),
    )


def _line_of(logged: LogRead, row: int) -> tuple[str, int]:
    """The file and 1-based line of the row-th row read (files in the order read)."""
    for name, count in logged.rows_per_file.items():
        if row < count:
            return name, row + 1
        row -= count
    raise IndexError(row)
