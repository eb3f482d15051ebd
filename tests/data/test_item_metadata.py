"""Tests for recmesh.data.item_metadata, through the loader that joins it to a log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recmesh.data.errors import DataFormatError
from recmesh.data.external_ids import external_code
from recmesh.data.generic import load_interactions_file
from recmesh.data.log_format import ColumnMapping, IdKinds, ItemFile, LogFormat, Weighting
from recmesh.data.movielens_csv import load_movielens_csv
from recmesh.files.repo_paths import SHARED_DATA_DIR

ML_LATEST_SMALL = SHARED_DATA_DIR / "ml-latest-small"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_titles_genres_and_years_join_the_log_items(tmp_path: Path) -> None:
    """A second file gives titles, genres (split on the separator) and years; an item of
    the log without metadata is still in the catalogue, with none."""
    log = _write(tmp_path, "plays.tsv", "user\tartist\n1\t51\n1\t52\n2\t99\n")
    artists = _write(
        tmp_path,
        "artists.tsv",
        "id\tname\ttags\tformed\n52\tMetallica\tmetal;rock\t1981\n51\tDuran Duran\tpop\t1978\n"
        "60\tNever Played\t\t0\n",
    )
    items = ItemFile(
        path=str(artists), id="id", title="name", genres="tags", genre_separator=";", year="formed"
    )
    dataset = load_interactions_file(
        log, log_format=LogFormat(columns=ColumnMapping(item="artist"), items=items)
    )
    catalog = dataset.items
    assert catalog.item_ids.tolist() == [51, 52, 60, 99]
    assert catalog.titles == ("Duran Duran", "Metallica", "Never Played", "")
    assert catalog.genre_names == ("metal", "pop", "rock")
    assert catalog.genres.tolist() == [[0, 1, 0], [1, 0, 1], [0, 0, 0], [0, 0, 0]]
    assert catalog.years.tolist() == [1978, 1981, 0, 0]


def test_string_ids_join_across_files_even_when_one_file_has_only_numbers(
    tmp_path: Path,
) -> None:
    """With ids: string both files' ids are strings, digits too, so "7" names the same
    item in both, and the mapping holds both."""
    log = _write(tmp_path, "l.csv", "user,item\n1,7\n1,track-x\n")
    meta = _write(tmp_path, "m.csv", "item,title\n7,Seven\n8,Eight\n")
    dataset = load_interactions_file(
        log,
        log_format=LogFormat(
            ids=IdKinds.parse("item=string"),
            items=ItemFile(path=str(meta), id="item", title="title"),
        ),
    )
    catalog = dataset.items
    by_name = dict(zip(catalog.external_ids, catalog.titles, strict=True))
    assert by_name == {"7": "Seven", "8": "Eight", "track-x": ""}
    assert external_code("7") in catalog.item_ids.tolist()


def test_a_string_id_in_the_metadata_file_under_integer_ids_is_an_error(
    tmp_path: Path,
) -> None:
    """Integer ids (the default) apply to the metadata file too: one non-integer id there
    is an error at its line, instead of making every item id of the dataset a hash."""
    log = _write(tmp_path, "l.csv", "user,item\n1,7\n1,8\n")
    meta = _write(tmp_path, "m.csv", "item,title\n7,Seven\nx8,Eight\n")
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(
            log, log_format=LogFormat(items=ItemFile(path=str(meta), id="item", title="title"))
        )
    assert str(caught.value).startswith("m.csv:3: column 'item': item id is not an integer")


def test_metadata_naming_none_of_the_log_items_is_refused(tmp_path: Path) -> None:
    """A metadata file sharing no id with the log (the wrong id column) is an error."""
    log = _write(tmp_path, "l.csv", "user,item\n1,7\n")
    meta = _write(tmp_path, "m.csv", "rank,item\n7,100\n")
    with pytest.raises(DataFormatError, match="no item of the interaction log is in column 'item'"):
        load_interactions_file(log, log_format=LogFormat(items=ItemFile(path=str(meta), id="item")))


def test_an_item_listed_twice_names_the_second_line(tmp_path: Path) -> None:
    """Two metadata rows for one item: the second is named with its line and column."""
    log = _write(tmp_path, "l.csv", "user,item\n1,7\n")
    meta = _write(tmp_path, "m.csv", "item,title\n7,A\n7,B\n")
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(
            log, log_format=LogFormat(items=ItemFile(path=str(meta), id="item", title="title"))
        )
    assert str(caught.value) == "m.csv:3: column 'item': item id appears twice"


def test_a_missing_metadata_column_is_named(tmp_path: Path) -> None:
    """A title column the metadata file lacks is an error at its header."""
    log = _write(tmp_path, "l.csv", "user,item\n1,7\n")
    meta = _write(tmp_path, "m.csv", "item,name\n7,A\n")
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(
            log, log_format=LogFormat(items=ItemFile(path=str(meta), id="item", title="title"))
        )
    assert str(caught.value) == "m.csv:1: no column 'title' (the title column) in header item, name"


def test_parquet_metadata_for_a_parquet_log(tmp_path: Path) -> None:
    """Both files may be Parquet: titles of string ids join by their strings."""
    pq.write_table(pa.table({"u": ["a", "b"], "t": ["uri:1", "uri:2"]}), tmp_path / "log.parquet")
    pq.write_table(
        pa.table({"uri": ["uri:2", "uri:1"], "name": ["Two", "One"]}), tmp_path / "meta.parquet"
    )
    log = LogFormat(
        columns=ColumnMapping(user="u", item="t"),
        ids=IdKinds.parse("string"),
        items=ItemFile(path=str(tmp_path / "meta.parquet"), id="uri", title="name"),
    )
    catalog = load_interactions_file(tmp_path / "log.parquet", log_format=log).items
    assert dict(zip(catalog.external_ids, catalog.titles, strict=True)) == {
        "uri:1": "One",
        "uri:2": "Two",
    }


def test_ml_latest_small_through_the_generic_path() -> None:
    """ml-latest-small read as any log (column mapping, movies.csv as item metadata)
    gives the dataset its own loader gives: same fingerprint, catalogue and genres; and
    a log1p weighting changes the fingerprint but not the rows."""
    if not ML_LATEST_SMALL.is_dir():
        pytest.skip(f"real-data test: {ML_LATEST_SMALL} is absent (MovieLens ml-latest-small)")
    log = LogFormat(
        format="csv",
        columns=ColumnMapping(
            user="userId", item="movieId", rating="rating", timestamp="timestamp"
        ),
        items=ItemFile(
            path=str(ML_LATEST_SMALL / "movies.csv"), id="movieId", title="title", genres="genres"
        ),
    )
    generic = load_interactions_file(ML_LATEST_SMALL / "ratings.csv", log_format=log)
    own = load_movielens_csv(ML_LATEST_SMALL)
    assert len(generic.interactions) == 100_836
    assert generic.interactions.n_users == 610
    assert generic.fingerprint == own.fingerprint
    assert np.array_equal(generic.items.item_ids, own.items.item_ids)
    assert generic.items.titles == own.items.titles
    assert generic.items.genre_names == own.items.genre_names
    assert np.array_equal(generic.items.genres, own.items.genres)
    assert np.array_equal(generic.items.years, own.items.years)
    weighted = load_interactions_file(
        ML_LATEST_SMALL / "ratings.csv",
        log_format=LogFormat(columns=log.columns, weight=Weighting.parse("log1p")),
    )
    assert weighted.fingerprint != generic.fingerprint
    assert np.array_equal(weighted.interactions.items, generic.interactions.items)
