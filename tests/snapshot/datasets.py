"""Datasets for the snapshot, candidates and features tests (a helper, not a test module).

`tiny_dataset` builds exact hand-made data, `example_dataset` is the hand-checked
dataset most tests use, and `ml_latest_small_or_skip` loads the shared MovieLens
ml-latest-small files, skipping the calling test with a reason when they are absent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from recmesh.data.dataset import Dataset, Interactions, ItemCatalog, UserTable
from recmesh.data.movielens_csv import load_movielens_csv
from recmesh.files.repo_paths import SHARED_DATA_DIR
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.config import SnapshotConfig
from recmesh.snapshot.snapshot import Snapshot

DAY = 86_400
ML_LATEST_SMALL = SHARED_DATA_DIR / "ml-latest-small"

# (user id, item id, rating, timestamp)
Row = tuple[int, int, float, int]


def interactions(rows: Sequence[Row]) -> Interactions:
    table = np.array(rows, dtype=np.float64).reshape(len(rows), 4)
    return Interactions(
        users=table[:, 0].astype(np.int64),
        items=table[:, 1].astype(np.int64),
        ratings=table[:, 2].astype(np.float32),
        timestamps=table[:, 3].astype(np.int64),
    )


def tiny_dataset(
    rows: Sequence[Row],
    item_ids: Sequence[int],
    genres: Sequence[Sequence[float]] | None = None,
    genre_names: tuple[str, ...] = ("Action", "Comedy"),
    years: Sequence[int] | None = None,
    users: UserTable | None = None,
) -> Dataset:
    """A dataset over exactly `item_ids` (sorted), with `rows` as its interactions."""
    n_items = len(item_ids)
    genre_matrix = (
        np.zeros((n_items, len(genre_names)), dtype=np.float32)
        if genres is None
        else np.array(genres, dtype=np.float32).reshape(n_items, len(genre_names))
    )
    catalogue = ItemCatalog(
        item_ids=np.array(item_ids, dtype=np.int64),
        titles=tuple(f"Item {i}" for i in item_ids),
        genre_names=genre_names,
        genres=genre_matrix,
        years=np.array(years if years is not None else [0] * n_items, dtype=np.int32),
    )
    return Dataset("tiny", interactions(rows), catalogue, users, fingerprint="0" * 64)


# The example dataset: items 10..50 (indices 0..4; 50 never consumed), users 1..5 (4
# without demographics, 5 with demographics but no interaction), now = T.
T = 1_000 * DAY
EXAMPLE_ROWS: tuple[Row, ...] = (
    (1, 10, 5.0, T - 10 * DAY),
    (1, 20, 4.0, T - 5 * DAY),
    (1, 30, 3.0, T),
    (2, 10, 4.0, T - 40 * DAY),
    (2, 20, 2.0, T - 31 * DAY),
    (3, 20, 5.0, T - 2 * DAY),
    (3, 30, 4.0, T - 1 * DAY),
    (3, 40, 1.0, T - 60 * DAY),
    (4, 10, 3.0, T - 100 * DAY),
)
EXAMPLE_ITEMS = (10, 20, 30, 40, 50)
EXAMPLE_GENRES = ((1, 0), (1, 1), (0, 1), (0, 1), (1, 0))
EXAMPLE_YEARS = (1990, 1995, 0, 2000, 1980)
EXAMPLE_CONFIG = SnapshotConfig(
    affinity_half_life_days=30.0,
    popularity_half_life_days=30.0,
    similarity="jaccard",
    neighbors_per_item=10,
    min_cooccurrence=1,
    recent_window_days=30.0,
)


def example_dataset() -> Dataset:
    users = UserTable(
        user_ids=np.array([1, 2, 3, 5], dtype=np.int64),
        ages=np.array([20, 30, 40, 50], dtype=np.int32),
        genders=("M", "F", "M", "F"),
        occupations=("writer", "doctor", "artist", "lawyer"),
    )
    return tiny_dataset(
        EXAMPLE_ROWS, EXAMPLE_ITEMS, EXAMPLE_GENRES, years=EXAMPLE_YEARS, users=users
    )


def example_snapshot(config: SnapshotConfig = EXAMPLE_CONFIG) -> Snapshot:
    dataset = example_dataset()
    return build_snapshot(dataset, dataset.interactions, config)


def ml_latest_small_or_skip() -> Dataset:
    if not (ML_LATEST_SMALL / "ratings.csv").is_file():
        pytest.skip(f"real-data test: {ML_LATEST_SMALL} is absent (MovieLens ml-latest-small)")
    return load_movielens_csv(ML_LATEST_SMALL)
