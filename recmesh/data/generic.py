"""Loads any interaction log: CSV, TSV or Parquet, columns by name, weights transformed."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from recmesh.data.column_source import ColumnSource, open_columns
from recmesh.data.dataset import Dataset, Interactions, ItemCatalog
from recmesh.data.external_ids import ExternalIds, NameConflictError
from recmesh.data.fingerprint import fingerprint_interactions
from recmesh.data.item_metadata import item_catalog, open_item_file
from recmesh.data.log_format import ColumnMapping, LogFormat

# Header names after normalising (lower case, a `:type` suffix as in recbole's
# atomic files dropped, only letters and digits kept): "User_ID" -> "userid".
USER_ALIASES = ("user", "userid", "uid")
ITEM_ALIASES = ("item", "itemid", "iid", "movie", "movieid")
RATING_ALIASES = ("rating", "weight", "score")
TIMESTAMP_ALIASES = ("timestamp", "ts", "time", "unixtime")

_ALIASES = {
    "user": USER_ALIASES,
    "item": ITEM_ALIASES,
    "rating": RATING_ALIASES,
    "timestamp": TIMESTAMP_ALIASES,
}
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def load_interactions_file(
    path: Path,
    *,
    name: str | None = None,
    delimiter: str | None = None,
    log_format: LogFormat | None = None,
) -> Dataset:
    """The Dataset of one interaction log with a header (CSV, TSV or Parquet).

    The format is `log_format.format`, else the extension's (.csv, .tsv/.tab,
    .parquet/.pq); other text files are split on `delimiter`, else on what the header
    holds (tab, comma or semicolon). Text must be UTF-8. A column is the one
    `log_format.columns` names, else found by its usual header names, case-insensitively
    (see the *_ALIASES): user and item are required; rating (or weight) is optional, 1.0
    without it; timestamp (Unix seconds) is optional, 0 without it; other columns are
    ignored. Ids are integers, or strings where `log_format.ids` says so
    (`recmesh.data.log_format.IdKinds`; the dataset keeps their mapping).
    `log_format.weight` transforms the ratings (and may drop rows).
    The catalogue is the items of `log_format.items` and those seen
    (`recmesh.data.item_metadata`), else the items seen, without metadata (empty titles,
    no genres, year 0); there is no user table. The name defaults to the file's stem.
    Raises DataFormatError naming the file, the line or row group, and the column of the
    first problem.
    """
    log_format = log_format or LogFormat()
    source = open_columns(path, log_format.format, delimiter)
    columns = find_columns(source, log_format.columns)
    user, item = columns["user"], columns["item"]
    if user is None or item is None:
        missing = "user" if user is None else "item"
        raise source.header_error(
            f"no {missing} column in header {', '.join(source.names)} (name it in the "
            f"column mapping: {missing}: COLUMN)"
        )
    users, user_names = source.ids(user, "user id", log_format.ids.user)
    items, item_names = source.ids(item, "item id", log_format.ids.item)
    metadata = None if log_format.items is None else open_item_file(log_format.items)
    if metadata is not None:
        meta_source, meta_column = metadata
        meta_ids, meta_names = meta_source.ids(meta_column, "item id", log_format.ids.item)
    ratings = _weights(source, columns["rating"], log_format)
    timestamp = columns["timestamp"]
    timestamps = (
        np.zeros(len(source), dtype=np.int64)
        if timestamp is None
        else source.integers(timestamp, "timestamp")
    )
    weights, keep = log_format.weight.apply(ratings)
    interactions = Interactions(users=users, items=items, ratings=weights, timestamps=timestamps)
    if not keep.all():
        interactions = interactions.select(keep)
        if len(interactions) == 0:
            raise source.header_error(f"no row is kept by weight {log_format.weight.text}")
    if metadata is not None and log_format.items is not None:
        # Both are strings, or neither: one IdKinds reads both id columns.
        names = None
        if item_names is not None and meta_names is not None:
            try:
                names = item_names.merged(meta_names)
            except NameConflictError as exc:
                row = int(np.argmax(meta_ids == exc.code))
                raise meta_source.row_error(meta_column)(row, str(exc)) from None
        catalog = item_catalog(log_format.items, meta_source, meta_ids, names, interactions.items)
    else:
        catalog = seen_items(interactions.items, item_names)
    return Dataset(
        name=name or path.stem,
        interactions=interactions,
        items=catalog,
        users=None,
        fingerprint=fingerprint_interactions(interactions),
        user_external_ids=user_names,
    )


def seen_items(items: NDArray[np.int64], names: ExternalIds | None) -> ItemCatalog:
    """A catalogue of the items seen, without metadata, with their strings if any."""
    item_ids = np.unique(items)
    n = int(item_ids.shape[0])
    return ItemCatalog(
        item_ids=item_ids,
        titles=("",) * n,
        genre_names=(),
        genres=np.zeros((n, 0), dtype=np.float32),
        years=np.zeros(n, dtype=np.int32),
        external_ids=() if names is None else tuple(names.names_of(item_ids)),
    )


def _weights(
    source: ColumnSource, rating: int | None, log_format: LogFormat
) -> NDArray[np.float32]:
    weight = log_format.weight
    if rating is None:
        if weight.kind == "threshold":
            raise source.header_error(
                f"weight {weight.text} needs a rating or weight column; header has none of "
                f"{', '.join(source.names)}"
            )
        return np.ones(len(source), dtype=np.float32)
    ratings = source.numbers(rating, "weight" if weight.kind == "log1p" else "rating")
    if weight.kind == "log1p" and bool((ratings < 0).any()):
        row = int(np.argmax(ratings < 0))
        raise source.row_error(rating)(row, f"log1p needs weights >= 0, got {ratings[row]:g}")
    return ratings


def find_columns(source: ColumnSource, mapping: ColumnMapping) -> dict[str, int | None]:
    """The column index of each role: the one `mapping` names, else the one header
    name among the role's aliases; raises DataFormatError for a named column that is
    missing, or for two columns (or two roles) on one."""
    found: dict[str, int | None] = dict.fromkeys(_ALIASES)
    names = source.names
    for role in _ALIASES:
        wanted: str | None = getattr(mapping, role)
        if wanted is None:
            continue
        if wanted not in names:
            raise source.header_error(
                f"no column {wanted!r} (the {role} column) in header {', '.join(names)}"
            )
        found[role] = names.index(wanted)
    taken = {index: role for role, index in found.items() if index is not None}
    if len(taken) != sum(index is not None for index in found.values()):
        raise source.header_error("the column mapping names one column for two roles")
    for index, raw in enumerate(names):
        key = _NOT_ALNUM.sub("", raw.partition(":")[0].strip().lower())
        for role, aliases in _ALIASES.items():
            if key not in aliases or getattr(mapping, role) is not None or index in taken:
                continue
            previous = found[role]
            if previous is not None:
                raise source.header_error(
                    f"two {role} columns: {names[previous]!r} and {raw!r} (name one in the "
                    f"column mapping)"
                )
            found[role] = index
    return found
