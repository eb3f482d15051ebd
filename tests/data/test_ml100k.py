"""Tests for recmesh.data.ml100k."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from recmesh.data.dataset import Dataset
from recmesh.data.errors import DataFormatError
from recmesh.data.ml100k import load_ml100k
from recmesh.data.ml100k_layout import ML100K_GENRES, RATINGS_FILE
from tests.data.ml100k_files import write_cache_layout, write_official


def test_real_ml100k_has_the_published_counts(ml100k: Dataset) -> None:
    """100,000 ratings by 943 users of 1,682 items, with 943 demographics rows."""
    assert ml100k.name == "ml-100k"
    assert len(ml100k.interactions) == 100_000
    assert ml100k.interactions.n_users == 943
    assert ml100k.interactions.n_items == 1_682
    assert ml100k.items.item_ids.tolist() == list(range(1, 1_683))
    assert ml100k.users is not None
    assert ml100k.users.user_ids.tolist() == list(range(1, 944))


def test_real_ml100k_rows_keep_file_order_and_types(ml100k: Dataset) -> None:
    """The first u.data row is (196, 242, 3, 881250949) and the dtypes follow the contract."""
    first = ml100k.interactions
    assert (first.users[0], first.items[0], first.ratings[0], first.timestamps[0]) == (
        196,
        242,
        3.0,
        881250949,
    )
    assert first.users.dtype == np.int64
    assert first.ratings.dtype == np.float32
    assert set(np.unique(first.ratings).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}


def test_real_ml100k_metadata(ml100k: Dataset) -> None:
    """Titles, years, the 19 genres and demographics come through."""
    items = ml100k.items
    assert items.titles[0] == "Toy Story"
    assert items.years[0] == 1995
    assert items.genre_names == ML100K_GENRES
    assert [items.genre_names[j] for j in items.genres[0].nonzero()[0]] == [
        "Animation",
        "Children's",
        "Comedy",
    ]
    assert items.titles[542] == "Misérables, Les"
    assert int((items.years == 0).sum()) == 1  # item 267, "unknown"
    assert ml100k.users is not None
    assert (ml100k.users.ages[0], ml100k.users.genders[0], ml100k.users.occupations[0]) == (
        24,
        "M",
        "technician",
    )


def test_official_layout_loads_the_same_dataset(
    ml100k: Dataset, ml100k_dir: Path, tmp_path: Path
) -> None:
    """u.data, a latin-1 u.item and u.user give the same dataset as the cache."""
    official = load_ml100k(write_official(tmp_path / "ml-100k", ml100k_dir))
    assert official.fingerprint == ml100k.fingerprint
    assert official.items.titles == ml100k.items.titles
    np.testing.assert_array_equal(official.items.genres, ml100k.items.genres)
    np.testing.assert_array_equal(official.items.years, ml100k.items.years)
    assert official.users is not None
    assert ml100k.users is not None
    assert official.users.occupations == ml100k.users.occupations


def test_loading_100k_rows_takes_well_under_two_seconds(ml100k_dir: Path) -> None:
    """load_ml100k parses 100,000 ratings and the metadata in under 2 s."""
    started = time.perf_counter()
    load_ml100k(ml100k_dir)
    assert time.perf_counter() - started < 2.0


def test_rating_of_an_unknown_item_names_the_line(tmp_path: Path) -> None:
    """Every rating must name an item of items.tsv."""
    directory = write_cache_layout(tmp_path, ratings=b"1\t10\t4\t1\n1\t30\t4\t2\n")
    with pytest.raises(DataFormatError) as caught:
        load_ml100k(directory)
    assert str(caught.value) == "ratings.tsv:2: item 30 is not in items.tsv"


def test_rating_of_an_unknown_user_names_the_line(tmp_path: Path) -> None:
    """Every rating must name a user of users.tsv."""
    directory = write_cache_layout(tmp_path, ratings=b"1\t10\t4\t1\n7\t10\t4\t2\n")
    with pytest.raises(DataFormatError) as caught:
        load_ml100k(directory)
    assert str(caught.value) == "ratings.tsv:2: user 7 is not in users.tsv"


def test_missing_items_file_is_reported(tmp_path: Path) -> None:
    """A cache directory without items.tsv is a DataFormatError naming it."""
    directory = write_cache_layout(tmp_path)
    (directory / "items.tsv").unlink()
    with pytest.raises(DataFormatError, match=r"items\.tsv: file not found"):
        load_ml100k(directory)


def test_directory_without_ml100k_files_says_what_it_expected(tmp_path: Path) -> None:
    """An empty directory is rejected with the file names of both layouts."""
    with pytest.raises(DataFormatError, match=r"ratings\.tsv.*u\.data") as caught:
        load_ml100k(tmp_path)
    assert caught.value.line is None


def test_nothing_is_returned_when_a_late_row_is_bad(tmp_path: Path) -> None:
    """A bad timestamp on the last line fails the whole load (no partial dataset)."""
    ratings = b"1\t10\t4\t1\n" * 1000 + b"1\t10\t4\tlater\n"
    directory = write_cache_layout(tmp_path, ratings=ratings)
    with pytest.raises(DataFormatError) as caught:
        load_ml100k(directory)
    assert str(caught.value) == f"{RATINGS_FILE}:1001: timestamp is not an integer: 'later'"
