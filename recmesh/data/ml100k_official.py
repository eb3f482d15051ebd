"""The official GroupLens MovieLens 100K files: u.data, u.item (latin-1) and u.user.

Items become `ItemRecord`s in the form the recbole copy has too: the title
without its trailing parenthesised part (`Toy Story (1995)` -> `Toy Story`), the
year from the release date (`01-Jan-1995`), the 19 genre flags as names.
"""

from __future__ import annotations

import re
from pathlib import Path

from recmesh.data.ml100k_layout import ML100K_GENRES, ItemRecord, UserRecord, year_from_title
from recmesh.data.parsing import int_column, read_table, reject_duplicates

RATINGS_FILE = "u.data"
ITEMS_FILE = "u.item"
USERS_FILE = "u.user"

_RELEASE_DATE = re.compile(r"\d{2}-[A-Z][a-z]{2}-(\d{4})")
_TRAILING_GROUP = re.compile(r"\s*\([^()]*\)$")


def parse_items(path: Path, data: bytes | None = None) -> tuple[ItemRecord, ...]:
    """The items of a u.item file (or its `data`), read as latin-1, which it is.

    Fields: id | title | release date | video release date | IMDb URL | 19 0/1
    genre flags. Raises DataFormatError for a short row, a bad id, date or flag.
    """
    table = read_table(
        path,
        delimiter="|",
        has_header=False,
        width=5 + len(ML100K_GENRES),
        encoding="latin-1",
        quoted=False,
        data=data,
    )
    ids = int_column(table, 0, "item id")
    reject_duplicates(table, ids, "item id")
    records = []
    for row, fields in enumerate(table.rows):
        flags = fields[5:]
        if any(flag not in ("0", "1") for flag in flags):
            raise table.error(row, f"genre flags must be 0 or 1, got {'|'.join(flags)!r}")
        title = fields[1]
        date = fields[2]
        if date:
            match = _RELEASE_DATE.fullmatch(date)
            if match is None:
                raise table.error(row, f"release date is not like 01-Jan-1995: {date!r}")
            year = int(match.group(1))
        else:
            year = year_from_title(title)
        genres = tuple(name for name, flag in zip(ML100K_GENRES, flags, strict=True) if flag == "1")
        records.append(ItemRecord(int(ids[row]), _TRAILING_GROUP.sub("", title), year, genres))
    return tuple(records)


def parse_users(path: Path, data: bytes | None = None) -> tuple[UserRecord, ...]:
    """The users of a u.user file (or its `data`): id | age | gender | occupation | zip code."""
    table = read_table(path, delimiter="|", has_header=False, width=5, quoted=False, data=data)
    ids = int_column(table, 0, "user id")
    reject_duplicates(table, ids, "user id")
    ages = int_column(table, 1, "age")
    return tuple(
        UserRecord(int(ids[row]), int(ages[row]), fields[2], fields[3], fields[4])
        for row, fields in enumerate(table.rows)
    )
