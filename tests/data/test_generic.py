"""Tests for recmesh.data.generic."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from recmesh.data.errors import DataFormatError
from recmesh.data.generic import load_interactions_file
from recmesh.data.recbole_format import INTER_HEADER


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_aliased_headers_loads_in_file_order(tmp_path: Path) -> None:
    """userId/movieId/Rating/TS are matched case-insensitively; rows stay in order."""
    path = _write(tmp_path, "events.csv", "userId,movieId,Rating,TS\n2,20,4.5,99\n1,10,3,98\n")
    dataset = load_interactions_file(path)
    assert dataset.name == "events"
    assert dataset.interactions.users.tolist() == [2, 1]
    assert dataset.interactions.items.tolist() == [20, 10]
    assert dataset.interactions.ratings.tolist() == [4.5, 3.0]
    assert dataset.interactions.timestamps.tolist() == [99, 98]
    assert dataset.users is None


def test_catalogue_holds_seen_items_without_metadata(tmp_path: Path) -> None:
    """Items seen, sorted, with empty titles, no genres and year 0."""
    path = _write(tmp_path, "e.tsv", "user\titem\n1\t30\n1\t10\n2\t30\n")
    catalog = load_interactions_file(path).items
    assert catalog.item_ids.tolist() == [10, 30]
    assert catalog.titles == ("", "")
    assert catalog.genre_names == ()
    assert catalog.genres.shape == (2, 0)
    assert catalog.years.tolist() == [0, 0]


def test_weight_column_and_missing_timestamp(tmp_path: Path) -> None:
    """A weight column gives the ratings; without a timestamp column they are 0."""
    path = _write(tmp_path, "clicks.tsv", "user_id\titem_id\tweight\n1\t2\t0.25\n")
    dataset = load_interactions_file(path)
    assert dataset.interactions.ratings.tolist() == [0.25]
    assert dataset.interactions.timestamps.tolist() == [0]


def test_without_rating_every_interaction_weighs_one(tmp_path: Path) -> None:
    """Implicit data (user, item only) gets rating 1.0; extra columns are ignored."""
    path = _write(tmp_path, "views.csv", "item,user,device\n5,1,phone\n")
    dataset = load_interactions_file(path)
    assert dataset.interactions.users.tolist() == [1]
    assert dataset.interactions.items.tolist() == [5]
    assert dataset.interactions.ratings.tolist() == [1.0]


def test_delimiter_is_sniffed_from_the_header_for_other_extensions(tmp_path: Path) -> None:
    """A .txt file with tabs or semicolons in its header is split on them."""
    tabs = _write(tmp_path, "a.txt", "user\titem\n1\t2\n")
    semis = _write(tmp_path, "b.txt", "user;item\n1;2\n")
    assert load_interactions_file(tabs).interactions.items.tolist() == [2]
    assert load_interactions_file(semis).interactions.items.tolist() == [2]


def test_recbole_typed_header_is_understood(tmp_path: Path) -> None:
    """`user_id:token` style headers (recbole .inter files) are matched by name."""
    path = tmp_path / "ml-100k.inter"
    path.write_bytes(INTER_HEADER + b"\n196\t242\t3\t881250949\n")
    dataset = load_interactions_file(path)
    assert dataset.interactions.timestamps.tolist() == [881250949]


def test_missing_user_column_is_reported_at_the_header(tmp_path: Path) -> None:
    """A header without a user column is a DataFormatError at line 1."""
    path = _write(tmp_path, "e.csv", "customer,item\n1,2\n")
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(path)
    assert str(caught.value) == "e.csv:1: no user column in header customer, item"


def test_two_columns_for_one_role_are_ambiguous(tmp_path: Path) -> None:
    """user and user_id together are rejected rather than guessed between."""
    path = _write(tmp_path, "e.csv", "user,user_id,item\n1,1,2\n")
    with pytest.raises(DataFormatError, match="two user columns"):
        load_interactions_file(path)


def test_undetectable_delimiter_is_reported(tmp_path: Path) -> None:
    """A header with no tab, comma or semicolon cannot be split."""
    path = _write(tmp_path, "e.txt", "user item\n1 2\n")
    with pytest.raises(DataFormatError, match="cannot tell the delimiter"):
        load_interactions_file(path)


def test_string_ids_are_rejected(tmp_path: Path) -> None:
    """Ids must be integers; a string id is reported at its line."""
    path = _write(tmp_path, "e.csv", "user,item\n1,2\nalice,3\n")
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(path)
    assert str(caught.value) == "e.csv:3: user id is not an integer: 'alice'"


def test_100k_rows_load_well_under_two_seconds(tmp_path: Path) -> None:
    """A 100,000-row CSV loads in under 2 s."""
    rows = "".join(f"{i % 943},{i % 1682},{i % 5 + 1}.5,{880000000 + i}\n" for i in range(100_000))
    path = _write(tmp_path, "big.csv", "user,item,rating,timestamp\n" + rows)
    started = time.perf_counter()
    dataset = load_interactions_file(path)
    assert time.perf_counter() - started < 2.0
    assert len(dataset.interactions) == 100_000
