"""The on-disk layout of a cached MovieLens 100K, whatever source it came from.

A cache directory holds, all UTF-8 and tab-separated, without quoting:

- `ratings.tsv`: byte for byte the official `u.data` (user, item, rating,
  timestamp; no header), so its sha256 is the official one;
- `items.tsv`: header `item_id title year genres`; `year` is 0 where unknown,
  `genres` the item's genre names from `ML100K_GENRES` joined by `|`;
- `users.tsv`: header `user_id age gender occupation zip_code`;
- `manifest.json`, written last: the source and the sha256 of the three files.

Sources (the official zip, the recbole wheel) turn their own formats into
`Ml100kContent`; `encode_items`/`encode_users` write it, `parse_items`/
`parse_users` read it back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recmesh.data.dataset import ItemCatalog, UserTable
from recmesh.data.parsing import Table, expect_header, int_column, reject_duplicates

RATINGS_FILE = "ratings.tsv"
ITEMS_FILE = "items.tsv"
USERS_FILE = "users.tsv"
MANIFEST_FILE = "manifest.json"

ITEMS_HEADER = ("item_id", "title", "year", "genres")
USERS_HEADER = ("user_id", "age", "gender", "occupation", "zip_code")

# The 19 genre flags of u.item, in the official order (u.genre).
ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)

# sha256 of the official u.data (100,000 ratings, 943 users, 1,682 items).
ML100K_RATINGS_SHA256 = "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"

_YEAR_IN_TITLE = re.compile(r"\((\d{4})\)")


@dataclass(frozen=True)
class ItemRecord:
    item_id: int
    title: str
    year: int
    genres: tuple[str, ...]


@dataclass(frozen=True)
class UserRecord:
    user_id: int
    age: int
    gender: str
    occupation: str
    zip_code: str


@dataclass(frozen=True)
class Ml100kContent:
    """What a source provides: the official u.data bytes and parsed items and users."""

    ratings: bytes
    items: tuple[ItemRecord, ...]
    users: tuple[UserRecord, ...]


def year_from_title(title: str) -> int:
    """The last `(YYYY)` in a title, or 0."""
    found = _YEAR_IN_TITLE.findall(title)
    return int(found[-1]) if found else 0


def encode_items(items: Sequence[ItemRecord]) -> bytes:
    """items.tsv for `items`, sorted by id. Raises ValueError for a field with a tab or newline."""
    lines = ["\t".join(ITEMS_HEADER)]
    for item in sorted(items, key=lambda record: record.item_id):
        fields = (str(item.item_id), item.title, str(item.year), "|".join(item.genres))
        lines.append(_join(fields))
    return ("\n".join(lines) + "\n").encode("utf-8")


def encode_users(users: Sequence[UserRecord]) -> bytes:
    """users.tsv for `users`, sorted by id. Raises ValueError for a field with a tab or newline."""
    lines = ["\t".join(USERS_HEADER)]
    for user in sorted(users, key=lambda record: record.user_id):
        fields = (str(user.user_id), str(user.age), user.gender, user.occupation, user.zip_code)
        lines.append(_join(fields))
    return ("\n".join(lines) + "\n").encode("utf-8")


def parse_items(table: Table) -> tuple[ItemRecord, ...]:
    """The records of an items.tsv table; raises DataFormatError for a bad header or field."""
    expect_header(table, ITEMS_HEADER)
    ids = int_column(table, 0, "item id")
    reject_duplicates(table, ids, "item id")
    years = int_column(table, 2, "year")
    known = set(ML100K_GENRES)
    records = []
    for row, fields in enumerate(table.rows):
        genres = tuple(name for name in fields[3].split("|") if name)
        unknown = [name for name in genres if name not in known]
        if unknown:
            raise table.error(row, f"unknown genre {unknown[0]!r}")
        records.append(ItemRecord(int(ids[row]), fields[1], int(years[row]), genres))
    return tuple(records)


def parse_users(table: Table) -> tuple[UserRecord, ...]:
    """The records of a users.tsv table; raises DataFormatError for a bad header or field."""
    expect_header(table, USERS_HEADER)
    ids = int_column(table, 0, "user id")
    reject_duplicates(table, ids, "user id")
    ages = int_column(table, 1, "age")
    return tuple(
        UserRecord(int(ids[row]), int(ages[row]), fields[2], fields[3], fields[4])
        for row, fields in enumerate(table.rows)
    )


def item_catalog(items: Sequence[ItemRecord]) -> ItemCatalog:
    """The catalogue of `items` (unique ids), sorted by id, with the 19 ml-100k genres."""
    ordered = sorted(items, key=lambda record: record.item_id)
    column = {name: j for j, name in enumerate(ML100K_GENRES)}
    genres = np.zeros((len(ordered), len(ML100K_GENRES)), dtype=np.float32)
    for i, item in enumerate(ordered):
        for name in item.genres:
            genres[i, column[name]] = 1.0
    return ItemCatalog(
        item_ids=np.array([item.item_id for item in ordered], dtype=np.int64),
        titles=tuple(item.title for item in ordered),
        genre_names=ML100K_GENRES,
        genres=genres,
        years=np.array([item.year for item in ordered], dtype=np.int32),
    )


def user_table(users: Sequence[UserRecord]) -> UserTable:
    """The demographics of `users` (unique ids), sorted by id."""
    ordered = sorted(users, key=lambda record: record.user_id)
    return UserTable(
        user_ids=np.array([user.user_id for user in ordered], dtype=np.int64),
        ages=np.array([user.age for user in ordered], dtype=np.int32),
        genders=tuple(user.gender for user in ordered),
        occupations=tuple(user.occupation for user in ordered),
    )


def _join(fields: Sequence[str]) -> str:
    for field in fields:
        if "\t" in field or "\n" in field or "\r" in field:
            raise ValueError(f"field {field!r} contains a tab or line break")
    return "\t".join(fields)
