"""Tests for recmesh.data.loaders: choosing a loader, and strict errors in every loader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from recmesh.data.dataset import Dataset
from recmesh.data.errors import DataFormatError
from recmesh.data.loaders import load_path
from recmesh.data.log_format import ColumnMapping, IdKinds, LogFormat
from tests.data.ml100k_files import TINY_RATINGS, write_cache_layout

MOVIES = "movieId,title,genres\n10,A (1995),Drama\n20,B (1996),Comedy\n"
CSV_RATINGS = "userId,movieId,rating,timestamp\n1,10,4.0,100\n2,20,3.5,101\n1,20,5.0,102\n"


def _ml100k(directory: Path, ratings: bytes) -> Path:
    write_cache_layout(directory, ratings=ratings)
    return directory / "ratings.tsv"


def _movielens(directory: Path, ratings: bytes) -> Path:
    (directory / "movies.csv").write_text(MOVIES, encoding="utf-8")
    (directory / "ratings.csv").write_bytes(ratings)
    return directory / "ratings.csv"


def _generic(directory: Path, ratings: bytes) -> Path:
    (directory / "events.csv").write_bytes(ratings)
    return directory / "events.csv"


# Each layout: writes a ratings file (given its full bytes) and returns the path that
# load_path takes (the directory for ml-100k and MovieLens CSV, the file for generic).
Layout = tuple[Callable[[Path, bytes], Path], bytes]
LAYOUTS: dict[str, Layout] = {
    "ml-100k": (_ml100k, TINY_RATINGS),
    "movielens-csv": (_movielens, CSV_RATINGS.encode()),
    "generic-csv": (_generic, CSV_RATINGS.encode()),
}


def _load(layout: str, tmp_path: Path, ratings: bytes) -> tuple[Path, Dataset]:
    write, _ = LAYOUTS[layout]
    ratings_path = write(tmp_path, ratings)
    target = ratings_path if layout == "generic-csv" else tmp_path
    return ratings_path, load_path(target)


def _lines(layout: str) -> list[bytes]:
    return LAYOUTS[layout][1].splitlines(keepends=True)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_layout_loads_its_good_file(layout: str, tmp_path: Path) -> None:
    """The unbroken sample of every layout loads with all its rows."""
    _, dataset = _load(layout, tmp_path, LAYOUTS[layout][1])
    assert len(dataset.interactions) == 3


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_short_row_names_file_and_line(layout: str, tmp_path: Path) -> None:
    """A row missing its last field is reported at its line in the ratings file."""
    lines = _lines(layout)
    lines[2] = lines[2].rsplit(b",", 1)[0].rsplit(b"\t", 1)[0] + b"\n"
    with pytest.raises(DataFormatError) as caught:
        _load(layout, tmp_path, b"".join(lines))
    assert caught.value.path.name in ("ratings.tsv", "ratings.csv", "events.csv")
    assert caught.value.line == 3
    assert caught.value.reason == "expected 4 fields, got 3"


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_non_numeric_rating_names_file_and_line(layout: str, tmp_path: Path) -> None:
    """A rating that is not a number is reported at its line."""
    lines = _lines(layout)
    separator = b"\t" if layout == "ml-100k" else b","
    fields = lines[1].rstrip(b"\n").split(separator)
    fields[2] = b"four"
    lines[1] = separator.join(fields) + b"\n"
    with pytest.raises(DataFormatError) as caught:
        _load(layout, tmp_path, b"".join(lines))
    assert caught.value.line == 2
    assert caught.value.reason == "rating is not a number: 'four'"


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_empty_file_names_the_file(layout: str, tmp_path: Path) -> None:
    """An empty ratings file is a whole-file DataFormatError."""
    with pytest.raises(DataFormatError) as caught:
        _load(layout, tmp_path, b"")
    assert caught.value.path.name in ("ratings.tsv", "ratings.csv", "events.csv")
    assert caught.value.line is None
    assert caught.value.reason == "empty file"


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_bad_encoding_names_the_line_with_the_bad_bytes(layout: str, tmp_path: Path) -> None:
    """A ratings file with non-UTF-8 bytes on line 3 is reported at line 3."""
    lines = _lines(layout)
    lines[2] = b"\xff\xfe" + lines[2]
    with pytest.raises(DataFormatError) as caught:
        _load(layout, tmp_path, b"".join(lines))
    assert caught.value.line == 3
    assert caught.value.reason.startswith("not valid UTF-8")


def test_unknown_directory_layout_is_explained(tmp_path: Path) -> None:
    """A directory with no known files lists what each layout needs."""
    with pytest.raises(DataFormatError, match=r"not a dataset directory.*movies\.csv"):
        load_path(tmp_path)


def test_missing_path_is_reported(tmp_path: Path) -> None:
    """A path that does not exist is a DataFormatError naming it."""
    with pytest.raises(DataFormatError, match="no such file or directory"):
        load_path(tmp_path / "nothing")


def test_a_log_format_applies_to_a_file_not_a_directory(tmp_path: Path) -> None:
    """A file is read with the given mapping; a dataset directory with one is refused."""
    log = tmp_path / "plays.tsv"
    log.write_text("u\tartist\n1\ta-ha\n", encoding="utf-8")
    mapping = LogFormat(
        columns=ColumnMapping(user="u", item="artist"), ids=IdKinds("integer", "string")
    )
    dataset = load_path(log, mapping)
    assert dataset.items.external_ids == ("a-ha",)
    with pytest.raises(DataFormatError, match="applies to an interaction log file"):
        load_path(tmp_path, mapping)
