"""Item metadata from a second file (titles, genres, years), joined to a log's items."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from recmesh.data.column_source import ColumnSource, open_columns
from recmesh.data.dataset import ItemCatalog
from recmesh.data.external_ids import ExternalIds
from recmesh.data.log_format import ItemFile

#: How MovieLens writes "no genre" in its genres field.
NO_GENRES = "(no genres listed)"

_YEAR_AT_END = re.compile(r"\((\d{4})\)\s*$")


def open_item_file(spec: ItemFile) -> tuple[ColumnSource, int]:
    """The metadata file as columns, and the index of its id column."""
    source = open_columns(Path(spec.path), spec.format)
    return source, _column(source, spec.id, "item id")


def item_catalog(
    spec: ItemFile,
    source: ColumnSource,
    ids: NDArray[np.int64],
    names: ExternalIds | None,
    seen: NDArray[np.int64],
) -> ItemCatalog:
    """The catalogue of the metadata file's items (`ids`, its id column) and the items
    `seen` in the log. Items only in the log have no metadata (empty title, no genres,
    year 0). Raises DataFormatError for an id listed twice, a missing named column, or
    a file none of whose ids the log names (the wrong id column, most likely)."""
    error = source.row_error(_column(source, spec.id, "item id"))
    _, first = np.unique(ids, return_index=True)
    if first.shape[0] != ids.shape[0]:
        repeated = np.ones(ids.shape[0], dtype=np.bool_)
        repeated[first] = False
        raise error(int(np.argmax(repeated)), "item id appears twice")
    if not np.isin(seen, ids).any():
        raise source.header_error(
            f"no item of the interaction log is in column {spec.id!r}: check the id column "
            "and that both files use the same ids"
        )
    n = len(source)
    titles = source.strings(_column(source, spec.title, "title")) if spec.title else [""] * n
    genre_lists: list[list[str]] = [[] for _ in range(n)]
    if spec.genres is not None:
        raw = source.strings(_column(source, spec.genres, "genres"))
        genre_lists = [split_genres(value, spec.genre_separator) for value in raw]
    years = (
        source.integers(_column(source, spec.year, "year"), "year").astype(np.int32)
        if spec.year is not None
        else np.array([year_in_title(t) for t in titles], dtype=np.int32)
    )
    extra = np.setdiff1d(seen, ids)
    all_ids = np.concatenate([ids, extra])
    empty: list[list[str]] = [[] for _ in range(extra.shape[0])]
    catalog = catalog_of(
        all_ids,
        [*titles, *([""] * extra.shape[0])],
        [*genre_lists, *empty],
        np.concatenate([years, np.zeros(extra.shape[0], dtype=np.int32)]),
    )
    if names is None:
        return catalog
    return ItemCatalog(
        item_ids=catalog.item_ids,
        titles=catalog.titles,
        genre_names=catalog.genre_names,
        genres=catalog.genres,
        years=catalog.years,
        external_ids=tuple(names.names_of(catalog.item_ids)),
    )


def split_genres(value: str, separator: str) -> list[str]:
    """The genre names of one field; `(no genres listed)` and empty names are none."""
    if value == NO_GENRES:
        return []
    return [name.strip() for name in value.split(separator) if name.strip()]


def year_in_title(title: str) -> int:
    """The year of a trailing `(1995)` in a title, else 0."""
    match = _YEAR_AT_END.search(title)
    return int(match.group(1)) if match else 0


def catalog_of(
    ids: NDArray[np.int64],
    titles: Sequence[str],
    genre_lists: Sequence[Sequence[str]],
    years: NDArray[np.int32],
) -> ItemCatalog:
    """A catalogue sorted by id from per-item values in any order (distinct ids);
    `genre_names` are the genres that occur, sorted."""
    genre_names = tuple(sorted({g for names in genre_lists for g in names}))
    column = {g: j for j, g in enumerate(genre_names)}
    order = np.argsort(ids, kind="stable")
    genres = np.zeros((ids.shape[0], len(genre_names)), dtype=np.float32)
    for i, row in enumerate(order.tolist()):
        for g in genre_lists[row]:
            genres[i, column[g]] = 1.0
    return ItemCatalog(
        item_ids=ids[order],
        titles=tuple(titles[row] for row in order.tolist()),
        genre_names=genre_names,
        genres=genres,
        years=np.asarray(years, dtype=np.int32)[order],
    )


def _column(source: ColumnSource, name: str, role: str) -> int:
    if name not in source.names:
        raise source.header_error(
            f"no column {name!r} (the {role} column) in header {', '.join(source.names)}"
        )
    return source.names.index(name)
