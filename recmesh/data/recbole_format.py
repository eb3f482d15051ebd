"""The MovieLens 100K copy in recbole's atomic-file format (ml-100k.inter/.item/.user).

Tab-separated with typed headers (`item_id:token`, `class:token_seq`, ...).
The body of ml-100k.inter after its header line is byte for byte the official
u.data. Items carry the title without its year, a `release_year` column and the
genres as space-separated names from the 19 ml-100k genres.
"""

from __future__ import annotations

import re
from pathlib import Path

from recmesh.data.errors import DataFormatError
from recmesh.data.ml100k_layout import ML100K_GENRES, ItemRecord, UserRecord, year_from_title
from recmesh.data.parsing import expect_header, int_column, read_table, reject_duplicates

INTER_HEADER = b"user_id:token\titem_id:token\trating:float\ttimestamp:float"
ITEM_HEADER = ("item_id:token", "movie_title:token_seq", "release_year:token", "class:token_seq")
USER_HEADER = (
    "user_id:token",
    "age:token",
    "gender:token",
    "occupation:token",
    "zip_code:token",
)

# recbole writes item 267 (title "unknown", no date in u.item) as "unkonwn".
_MISSPELT_UNKNOWN = "unkonwn"
_YEAR = re.compile(r"\d{4}")


def ratings_body(path: Path, data: bytes) -> bytes:
    """The bytes of ml-100k.inter after its header line (the official u.data)."""
    header, newline, body = data.partition(b"\n")
    if header.rstrip(b"\r") != INTER_HEADER:
        raise DataFormatError(path, 1, f"expected header {INTER_HEADER.decode()!r}")
    if not newline or not body:
        raise DataFormatError(path, None, "no data rows")
    return body


def parse_items(path: Path, data: bytes) -> tuple[ItemRecord, ...]:
    """The items of ml-100k.item; the year falls back to a `(YYYY)` in the title, else 0."""
    table = read_table(path, delimiter="\t", has_header=True, quoted=False, data=data)
    expect_header(table, ITEM_HEADER)
    ids = int_column(table, 0, "item id")
    reject_duplicates(table, ids, "item id")
    known = set(ML100K_GENRES)
    records = []
    for row, (_, title, release_year, classes) in enumerate(table.rows):
        genres = tuple(classes.split())
        unknown = [name for name in genres if name not in known]
        if unknown:
            raise table.error(row, f"unknown genre {unknown[0]!r}")
        year = int(release_year) if _YEAR.fullmatch(release_year) else year_from_title(title)
        if title == _MISSPELT_UNKNOWN:
            title = "unknown"
        records.append(ItemRecord(int(ids[row]), title, year, genres))
    return tuple(records)


def parse_users(path: Path, data: bytes) -> tuple[UserRecord, ...]:
    """The users of ml-100k.user: id, age, gender, occupation, zip code."""
    table = read_table(path, delimiter="\t", has_header=True, quoted=False, data=data)
    expect_header(table, USER_HEADER)
    ids = int_column(table, 0, "user id")
    reject_duplicates(table, ids, "user id")
    ages = int_column(table, 1, "age")
    return tuple(
        UserRecord(int(ids[row]), int(ages[row]), fields[2], fields[3], fields[4])
        for row, fields in enumerate(table.rows)
    )
