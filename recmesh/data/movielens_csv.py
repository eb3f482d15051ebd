"""Loads the CSV layout of MovieLens "latest" (ratings.csv and movies.csv), e.g. ml-latest-small."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recmesh.data.columns import interactions_from, require_known
from recmesh.data.dataset import Dataset, ItemCatalog
from recmesh.data.fingerprint import fingerprint_interactions
from recmesh.data.item_metadata import catalog_of, split_genres, year_in_title
from recmesh.data.parsing import (
    Table,
    expect_header,
    int_column,
    read_table,
    reject_duplicates,
)

RATINGS_FILE = "ratings.csv"
MOVIES_FILE = "movies.csv"
RATINGS_HEADER = ("userId", "movieId", "rating", "timestamp")
MOVIES_HEADER = ("movieId", "title", "genres")


def load_movielens_csv(directory: Path, name: str | None = None) -> Dataset:
    """The Dataset of `directory`/ratings.csv and movies.csv (UTF-8, CRLF or LF).

    ratings.csv has the header `userId,movieId,rating,timestamp`; movies.csv
    `movieId,title,genres`, with genres joined by `|` and `(no genres listed)` for
    none. The catalogue is every movie of movies.csv; `genre_names` are the genres
    that occur, sorted; the year comes from a trailing `(1995)` in the title, else
    0. Every rating must name a movie of movies.csv. There is no user table. The
    name defaults to the directory's name. Raises DataFormatError naming the file
    and line of the first problem.
    """
    ratings_path = directory / RATINGS_FILE
    movies_path = directory / MOVIES_FILE
    movies = read_table(movies_path, delimiter=",", has_header=True, width=3)
    expect_header(movies, MOVIES_HEADER)
    catalog = _catalog(movies)
    ratings = read_table(ratings_path, delimiter=",", has_header=True, width=4)
    expect_header(ratings, RATINGS_HEADER)
    interactions = interactions_from(ratings, user=0, item=1, rating=2, timestamp=3)
    require_known(ratings, interactions.items, catalog.item_ids, "movie", MOVIES_FILE)
    return Dataset(
        name=name or directory.resolve().name,
        interactions=interactions,
        items=catalog,
        users=None,
        fingerprint=fingerprint_interactions(interactions),
    )


def _catalog(movies: Table) -> ItemCatalog:
    ids = int_column(movies, 0, "movie id")
    reject_duplicates(movies, ids, "movie id")
    titles = movies.column(1)
    return catalog_of(
        ids,
        titles,
        [split_genres(genres, "|") for genres in movies.column(2)],
        np.array([year_in_title(title) for title in titles], dtype=np.int32),
    )
