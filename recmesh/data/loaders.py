"""Every dataset loader, and `load_path`, which picks one from what a path holds."""

from __future__ import annotations

from pathlib import Path

from recmesh.data import ml100k_layout, ml100k_official, movielens_csv
from recmesh.data.dataset import Dataset
from recmesh.data.errors import DataFormatError
from recmesh.data.generic import load_interactions_file
from recmesh.data.log_format import LogFormat
from recmesh.data.ml100k import load_ml100k
from recmesh.data.movielens_csv import load_movielens_csv

__all__ = ["load_interactions_file", "load_ml100k", "load_movielens_csv", "load_path"]


def load_path(path: Path, log_format: LogFormat | None = None) -> Dataset:
    """Loads `path` with the loader its contents call for.

    A directory with ratings.tsv or u.data is ml-100k (`load_ml100k`); one with
    ratings.csv and movies.csv is the MovieLens CSV layout (`load_movielens_csv`);
    a file is an interaction log (`load_interactions_file`), read with `log_format`
    (which applies to files only). Raises DataFormatError for anything else, or
    whatever the chosen loader raises.
    """
    if path.is_file():
        return load_interactions_file(path, log_format=log_format)
    if not path.is_dir():
        raise DataFormatError(path, None, "no such file or directory")
    if log_format is not None and not log_format.is_default:
        raise DataFormatError(
            path,
            None,
            "a directory is read by its own layout; a format, column mapping, weight or "
            "item file applies to an interaction log file",
        )
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
