"""Tests for recmesh.data.ml100k_official."""

from __future__ import annotations

from pathlib import Path

import pytest

from recmesh.data.errors import DataFormatError
from recmesh.data.ml100k_layout import ItemRecord, UserRecord
from recmesh.data.ml100k_official import parse_items, parse_users

FLAGS_DRAMA_MUSICAL = "|".join("1" if i in (8, 12) else "0" for i in range(19))
FLAGS_UNKNOWN = "|".join("1" if i == 0 else "0" for i in range(19))


def test_u_item_is_read_as_latin1() -> None:
    """An é stored as the latin-1 byte 0xe9 decodes to é in the title."""
    data = f"543|Misérables, Les (1995)|01-Jan-1995||http://x|{FLAGS_DRAMA_MUSICAL}\n"
    items = parse_items(Path("u.item"), data.encode("latin-1"))
    assert items == (ItemRecord(543, "Misérables, Les", 1995, ("Drama", "Musical")),)


def test_year_comes_from_the_release_date_and_title_loses_its_last_group() -> None:
    """`(1995) (V)` keeps `(1995)` in the title; an empty date falls back to the title."""
    data = (
        f"1412|Land Before Time III (1995) (V)|01-Jan-1995||http://x|{FLAGS_UNKNOWN}\n"
        f"267|unknown||||{FLAGS_UNKNOWN}\n"
    ).encode("latin-1")
    items = parse_items(Path("u.item"), data)
    assert items[0] == ItemRecord(1412, "Land Before Time III (1995)", 1995, ("unknown",))
    assert items[1] == ItemRecord(267, "unknown", 0, ("unknown",))


def test_bad_genre_flag_is_reported_at_its_line() -> None:
    """Genre flags other than 0/1 are a DataFormatError naming u.item and the line."""
    flags = FLAGS_UNKNOWN.replace("1", "2", 1)
    data = f"1|A (1995)|01-Jan-1995||x|{FLAGS_UNKNOWN}\n2|B|||x|{flags}\n".encode("latin-1")
    with pytest.raises(DataFormatError) as caught:
        parse_items(Path("u.item"), data)
    assert caught.value.line == 2
    assert caught.value.path.name == "u.item"


def test_bad_release_date_is_reported() -> None:
    """A release date not like 01-Jan-1995 is a DataFormatError."""
    data = f"1|A|1995-01-01||x|{FLAGS_UNKNOWN}\n".encode("latin-1")
    with pytest.raises(DataFormatError, match="release date"):
        parse_items(Path("u.item"), data)


def test_short_u_item_row_is_reported() -> None:
    """A u.item row without all 24 fields names its line."""
    with pytest.raises(DataFormatError) as caught:
        parse_items(Path("u.item"), b"1|A|01-Jan-1995\n")
    assert str(caught.value) == "u.item:1: expected 24 fields, got 3"


def test_u_user_fields_become_user_records() -> None:
    """u.user is id|age|gender|occupation|zip."""
    users = parse_users(Path("u.user"), b"1|24|M|technician|85711\n2|53|F|other|94043\n")
    assert users[1] == UserRecord(2, 53, "F", "other", "94043")
