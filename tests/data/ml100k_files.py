"""Writes ml-100k files for the data tests (a helper, not a test module).

`write_cache_layout` writes a small hand-made cache directory; `write_official`
turns a real cache back into the official GroupLens files (u.data, a latin-1
u.item, u.user) so the official-format code can be tested on the real data
without GroupLens being reachable.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

from recmesh.data import ml100k_layout as layout
from recmesh.data.parsing import read_table

TINY_RATINGS = b"1\t10\t4\t881250949\n2\t10\t3\t881250950\n1\t20\t5\t881250951\n"
TINY_ITEMS = (
    layout.ItemRecord(10, "Toy Story", 1995, ("Animation", "Children's", "Comedy")),
    layout.ItemRecord(20, "Misérables, Les", 1995, ("Drama", "Musical")),
)
TINY_USERS = (
    layout.UserRecord(1, 24, "M", "technician", "85711"),
    layout.UserRecord(2, 53, "F", "other", "94043"),
)


def write_cache_layout(
    directory: Path,
    ratings: bytes = TINY_RATINGS,
    items: Sequence[layout.ItemRecord] = TINY_ITEMS,
    users: Sequence[layout.UserRecord] = TINY_USERS,
) -> Path:
    """A cache-layout directory (without manifest) holding the given content."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / layout.RATINGS_FILE).write_bytes(ratings)
    (directory / layout.ITEMS_FILE).write_bytes(layout.encode_items(items))
    (directory / layout.USERS_FILE).write_bytes(layout.encode_users(users))
    return directory


def cached_records(
    cache_dir: Path,
) -> tuple[tuple[layout.ItemRecord, ...], tuple[layout.UserRecord, ...]]:
    """The item and user records of a cache directory."""
    items = read_table(cache_dir / layout.ITEMS_FILE, delimiter="\t", has_header=True, quoted=False)
    users = read_table(cache_dir / layout.USERS_FILE, delimiter="\t", has_header=True, quoted=False)
    return layout.parse_items(items), layout.parse_users(users)


def official_files(
    ratings: bytes, items: Sequence[layout.ItemRecord], users: Sequence[layout.UserRecord]
) -> dict[str, bytes]:
    """u.data, u.item (latin-1, titles with their year) and u.user, as GroupLens ships them."""
    item_lines = []
    for item in items:
        title = f"{item.title} ({item.year})" if item.year else item.title
        date = f"01-Jan-{item.year}" if item.year else ""
        flags = ["1" if name in item.genres else "0" for name in layout.ML100K_GENRES]
        item_lines.append("|".join([str(item.item_id), title, date, "", "http://x", *flags]))
    user_lines = [
        "|".join([str(u.user_id), str(u.age), u.gender, u.occupation, u.zip_code]) for u in users
    ]
    return {
        "u.data": ratings,
        "u.item": ("\n".join(item_lines) + "\n").encode("latin-1"),
        "u.user": ("\n".join(user_lines) + "\n").encode("ascii"),
    }


def write_official(directory: Path, cache_dir: Path) -> Path:
    """The official files of the content of `cache_dir`, written into `directory`."""
    items, users = cached_records(cache_dir)
    ratings = (cache_dir / layout.RATINGS_FILE).read_bytes()
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in official_files(ratings, items, users).items():
        (directory / name).write_bytes(data)
    return directory


def official_zip(files: dict[str, bytes]) -> bytes:
    """A zip laid out like ml-100k.zip (files under `ml-100k/`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"ml-100k/{name}", data)
    return buffer.getvalue()
