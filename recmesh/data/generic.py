"""Loads a generic interactions file: CSV or TSV with user, item, rating and time columns."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from recmesh.data.columns import interactions_from
from recmesh.data.dataset import Dataset, ItemCatalog
from recmesh.data.errors import DataFormatError
from recmesh.data.fingerprint import fingerprint_interactions
from recmesh.data.parsing import Table, decode, read_bytes, read_table

# Header names after normalising (lower case, a `:type` suffix as in recbole's
# atomic files dropped, only letters and digits kept): "User_ID" -> "userid".
USER_ALIASES = ("user", "userid", "uid")
ITEM_ALIASES = ("item", "itemid", "iid", "movie", "movieid")
RATING_ALIASES = ("rating", "weight", "score")
TIMESTAMP_ALIASES = ("timestamp", "ts", "time", "unixtime")

_EXTENSION_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def load_interactions_file(
    path: Path, *, name: str | None = None, delimiter: str | None = None
) -> Dataset:
    """The Dataset of one delimited interactions file with a header line.

    The delimiter is `delimiter`, else given by the extension (.csv comma, .tsv
    tab), else sniffed from the header (tab, comma or semicolon). Columns are found
    by header name, case-insensitively (see the *_ALIASES): user and item are
    required (integer ids); rating (or weight) is optional, 1.0 without it;
    timestamp (Unix seconds) is optional, 0 without it; other columns are ignored.
    The file must be UTF-8. The catalogue holds the items seen, without metadata
    (empty titles, no genres, year 0); there is no user table. The name defaults
    to the file's stem. Raises DataFormatError naming the file and line of the
    first problem.
    """
    data = read_bytes(path)
    delimiter = delimiter or _delimiter(path, data)
    table = read_table(
        path, delimiter=delimiter, has_header=True, quoted=delimiter != "\t", data=data
    )
    columns = _find_columns(table)
    user, item = columns["user"], columns["item"]
    if user is None or item is None:
        missing = "user" if user is None else "item"
        header = ", ".join(table.header or ())
        raise DataFormatError(path, table.header_line, f"no {missing} column in header {header}")
    interactions = interactions_from(
        table, user=user, item=item, rating=columns["rating"], timestamp=columns["timestamp"]
    )
    item_ids = np.unique(interactions.items)
    catalog = ItemCatalog(
        item_ids=item_ids,
        titles=("",) * item_ids.shape[0],
        genre_names=(),
        genres=np.zeros((item_ids.shape[0], 0), dtype=np.float32),
        years=np.zeros(item_ids.shape[0], dtype=np.int32),
    )
    return Dataset(
        name=name or path.stem,
        interactions=interactions,
        items=catalog,
        users=None,
        fingerprint=fingerprint_interactions(interactions),
    )


def _delimiter(path: Path, data: bytes) -> str:
    by_extension = _EXTENSION_DELIMITERS.get(path.suffix.lower())
    if by_extension is not None:
        return by_extension
    header = decode(path, data.partition(b"\n")[0])
    for candidate in ("\t", ",", ";"):
        if candidate in header:
            return candidate
    raise DataFormatError(path, 1, "cannot tell the delimiter: no tab, comma or semicolon")


def _find_columns(table: Table) -> dict[str, int | None]:
    aliases = {
        "user": USER_ALIASES,
        "item": ITEM_ALIASES,
        "rating": RATING_ALIASES,
        "timestamp": TIMESTAMP_ALIASES,
    }
    found: dict[str, int | None] = dict.fromkeys(aliases)
    for index, raw in enumerate(table.header or ()):
        key = _NOT_ALNUM.sub("", raw.partition(":")[0].strip().lower())
        for role, names in aliases.items():
            if key not in names:
                continue
            previous = found[role]
            if previous is not None:
                header = table.header or ()
                raise DataFormatError(
                    table.path,
                    table.header_line,
                    f"two {role} columns: {header[previous]!r} and {raw!r}",
                )
            found[role] = index
    return found
