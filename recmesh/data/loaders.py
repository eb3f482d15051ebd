"""Every dataset loader, and `load_path`, which picks one from what a path holds."""

from __future__ import annotations

from pathlib import Path

from recmesh.data import ml100k_layout, ml100k_official, movielens_csv
from recmesh.data.dataset import Dataset
from recmesh.data.errors import DataFormatError
from recmesh.data.generic import load_interactions_file
from recmesh.data.ml100k import load_ml100k
from recmesh.data.movielens_csv import load_movielens_csv

__all__ = ["load_interactions_file", "load_ml100k", "load_movielens_csv", "load_path"]


def load_path(path: Path) -> Dataset:
    """Loads `path` with the loader its contents call for.

    A directory with ratings.tsv or u.data is ml-100k (`load_ml100k`); one with
    ratings.csv and movies.csv is the MovieLens CSV layout (`load_movielens_csv`);
    a file is a generic interactions file (`load_interactions_file`). Raises
    DataFormatError for anything else, or whatever the chosen loader raises.
    """
    if path.is_file():
        return load_interactions_file(path)
    if not path.is_dir():
        raise DataFormatError(path, None, "no such file or directory")
    if (path / ml100k_layout.RATINGS_FILE).is_file() or (
        path / ml100k_official.RATINGS_FILE
    ).is_file():
        return load_ml100k(path)
    if (path / movielens_csv.RATINGS_FILE).is_file():
        return load_movielens_csv(path)
    raise DataFormatError(
        path,
        None,
        f"not a dataset directory: expected {ml100k_layout.RATINGS_FILE} or "
        f"{ml100k_official.RATINGS_FILE} (ml-100k), or {movielens_csv.RATINGS_FILE} and "
        f"{movielens_csv.MOVIES_FILE} (MovieLens CSV)",
    )
