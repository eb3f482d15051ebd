"""Loads the CSV layout of MovieLens "latest" (ratings.csv and movies.csv), e.g. ml-latest-small."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from recmesh.data.columns import interactions_from, require_known
from recmesh.data.dataset import Dataset, ItemCatalog
from recmesh.data.fingerprint import fingerprint_interactions
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
NO_GENRES = "(no genres listed)"

_YEAR_AT_END = re.compile(r"\((\d{4})\)\s*$")


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
    genre_lists = [
        [] if genres == NO_GENRES else [g for g in genres.split("|") if g]
        for _, _, genres in movies.rows
    ]
    genre_names = tuple(sorted({g for names in genre_lists for g in names}))
    column = {g: j for j, g in enumerate(genre_names)}
    order = np.argsort(ids, kind="stable")
    genres = np.zeros((ids.shape[0], len(genre_names)), dtype=np.float32)
    years = np.zeros(ids.shape[0], dtype=np.int32)
    titles = []
    for i, row in enumerate(order.tolist()):
        title = movies.rows[row][1]
        titles.append(title)
        match = _YEAR_AT_END.search(title)
        years[i] = int(match.group(1)) if match else 0
        for g in genre_lists[row]:
            genres[i, column[g]] = 1.0
    return ItemCatalog(
        item_ids=ids[order],
        titles=tuple(titles),
        genre_names=genre_names,
        genres=genres,
        years=years,
    )
