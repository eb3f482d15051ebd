"""Tests for recmesh.data.recbole_format."""

from __future__ import annotations

from pathlib import Path

import pytest

from recmesh.data.errors import DataFormatError
from recmesh.data.ml100k_layout import ItemRecord, UserRecord
from recmesh.data.recbole_format import (
    INTER_HEADER,
    ITEM_HEADER,
    USER_HEADER,
    parse_items,
    parse_users,
    ratings_body,
)

INTER = Path("ml-100k.inter")


def test_ratings_body_is_everything_after_the_header_line() -> None:
    """The u.data bytes are returned unchanged."""
    body = b"196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
    assert ratings_body(INTER, INTER_HEADER + b"\n" + body) == body


def test_ratings_with_another_header_are_rejected() -> None:
    """An .inter file with unexpected columns is a DataFormatError at line 1."""
    with pytest.raises(DataFormatError) as caught:
        ratings_body(INTER, b"user_id:token\titem_id:token\n1\t2\n")
    assert caught.value.line == 1


def test_ratings_header_without_rows_is_rejected() -> None:
    """An .inter file holding only its header has no data rows."""
    with pytest.raises(DataFormatError, match="no data rows"):
        ratings_body(INTER, INTER_HEADER + b"\n")


def test_items_take_year_column_else_title_year_and_fix_unkonwn() -> None:
    """release_year is used when numeric; `V` falls back to the title; `unkonwn` is item 267."""
    lines = [
        "\t".join(ITEM_HEADER),
        "1\tToy Story\t1995\tAnimation Children's Comedy",
        "1412\tLand Before Time III (1995)\tV\tAnimation Children's",
        "267\tunkonwn\tunkonwn\tunknown",
    ]
    items = parse_items(Path("ml-100k.item"), ("\n".join(lines) + "\n").encode())
    assert items == (
        ItemRecord(1, "Toy Story", 1995, ("Animation", "Children's", "Comedy")),
        ItemRecord(1412, "Land Before Time III (1995)", 1995, ("Animation", "Children's")),
        ItemRecord(267, "unknown", 0, ("unknown",)),
    )


def test_item_with_an_unknown_genre_is_rejected() -> None:
    """Genre tokens must be ml-100k genre names."""
    data = ("\t".join(ITEM_HEADER) + "\n1\tA\t1995\tDrama Space\n").encode()
    with pytest.raises(DataFormatError, match="unknown genre 'Space'") as caught:
        parse_items(Path("ml-100k.item"), data)
    assert caught.value.line == 2


def test_users_are_parsed_with_their_typed_header() -> None:
    """ml-100k.user rows become user records; another header is rejected."""
    data = ("\t".join(USER_HEADER) + "\n1\t24\tM\ttechnician\t85711\n").encode()
    assert parse_users(Path("ml-100k.user"), data) == (
        UserRecord(1, 24, "M", "technician", "85711"),
    )
    with pytest.raises(DataFormatError, match="expected header"):
        parse_users(Path("ml-100k.user"), b"id\tage\tgender\tocc\tzip\n1\t2\tM\tx\ty\n")
