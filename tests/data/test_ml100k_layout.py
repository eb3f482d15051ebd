"""Tests for recmesh.data.ml100k_layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from recmesh.data import ml100k_layout as layout
from recmesh.data.errors import DataFormatError
from recmesh.data.parsing import read_table


def test_items_round_trip_through_items_tsv(tmp_path: Path) -> None:
    """encode_items then parse_items gives back the records, sorted by id."""
    records = (
        layout.ItemRecord(20, 'Crow, The: "City of Angels"', 0, ()),
        layout.ItemRecord(10, "Misérables, Les", 1995, ("Drama", "Musical")),
    )
    path = tmp_path / layout.ITEMS_FILE
    path.write_bytes(layout.encode_items(records))
    table = read_table(path, delimiter="\t", has_header=True, quoted=False)
    assert layout.parse_items(table) == (records[1], records[0])


def test_users_round_trip_through_users_tsv(tmp_path: Path) -> None:
    """encode_users then parse_users gives back the records, sorted by id."""
    records = (
        layout.UserRecord(2, 53, "F", "other", "94043"),
        layout.UserRecord(1, 24, "M", "technician", "85711"),
    )
    path = tmp_path / layout.USERS_FILE
    path.write_bytes(layout.encode_users(records))
    table = read_table(path, delimiter="\t", has_header=True, quoted=False)
    assert layout.parse_users(table) == (records[1], records[0])


def test_encoding_rejects_a_tab_in_a_field() -> None:
    """A field holding a tab cannot be written to the tab-separated layout."""
    with pytest.raises(ValueError, match="tab or line break"):
        layout.encode_items([layout.ItemRecord(1, "a\tb", 0, ())])


def test_unknown_genre_is_reported_at_its_line(tmp_path: Path) -> None:
    """items.tsv may only name the 19 ml-100k genres."""
    path = tmp_path / layout.ITEMS_FILE
    path.write_text("item_id\ttitle\tyear\tgenres\n1\tA\t1995\tDrama|Space Opera\n")
    table = read_table(path, delimiter="\t", has_header=True, quoted=False)
    with pytest.raises(DataFormatError) as caught:
        layout.parse_items(table)
    assert str(caught.value) == "items.tsv:2: unknown genre 'Space Opera'"


def test_repeated_user_id_is_reported(tmp_path: Path) -> None:
    """A user id listed twice in users.tsv is a DataFormatError at the repeat."""
    path = tmp_path / layout.USERS_FILE
    path.write_text("user_id\tage\tgender\toccupation\tzip_code\n1\t2\tM\tx\t1\n1\t3\tF\ty\t2\n")
    table = read_table(path, delimiter="\t", has_header=True, quoted=False)
    with pytest.raises(DataFormatError, match="user id 1 appears twice") as caught:
        layout.parse_users(table)
    assert caught.value.line == 3


def test_catalog_has_the_19_genre_columns_in_official_order() -> None:
    """item_catalog sorts by id and sets one 0/1 column per ml-100k genre."""
    catalog = layout.item_catalog(
        [
            layout.ItemRecord(7, "B", 0, ("unknown",)),
            layout.ItemRecord(3, "A", 1995, ("Action", "Western")),
        ]
    )
    assert catalog.item_ids.tolist() == [3, 7]
    assert catalog.genre_names == layout.ML100K_GENRES
    assert len(catalog.genre_names) == 19
    assert catalog.genres[0].nonzero()[0].tolist() == [1, 18]
    assert catalog.genres[1].nonzero()[0].tolist() == [0]
    assert catalog.years.tolist() == [1995, 0]
    assert catalog.titles == ("A", "B")


def test_user_table_sorts_by_id() -> None:
    """user_table holds ages, genders and occupations in id order."""
    users = layout.user_table(
        [layout.UserRecord(9, 30, "F", "writer", "1"), layout.UserRecord(4, 20, "M", "none", "2")]
    )
    assert users.user_ids.tolist() == [4, 9]
    assert users.ages.tolist() == [20, 30]
    assert users.genders == ("M", "F")
    assert users.occupations == ("none", "writer")


def test_year_from_title_takes_the_last_parenthesised_year() -> None:
    """`(YYYY)` anywhere in the title gives the year; none gives 0."""
    assert layout.year_from_title("Land Before Time III (1995)") == 1995
    assert layout.year_from_title("Death Note (2006–2007)") == 0
    assert layout.year_from_title("unknown") == 0
