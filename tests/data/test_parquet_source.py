"""Tests for recmesh.data.parquet_source, through the loader that reads a log with it."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recmesh.data.errors import DataFormatError
from recmesh.data.external_ids import external_code
from recmesh.data.generic import load_interactions_file
from recmesh.data.log_format import ColumnMapping, IdKinds, LogFormat, Weighting
from recmesh.data.parquet_source import ParquetColumns

_LISTENS: dict[str, list[object]] = {
    "userID": [2, 2, 7, 7, 9],
    "artistID": [51, 52, 51, 60, 52],
    "weight": [13883, 0, 7, 1, 250],
    "ts": [1_600_000_000, 1_600_000_100, 1_600_000_200, 1_600_000_300, 1_600_000_400],
}
_MAPPING = ColumnMapping(user="userID", item="artistID", rating="weight", timestamp="ts")


def _tsv(tmp_path: Path, columns: dict[str, list[object]], order: list[int]) -> Path:
    names = list(columns)
    lines = ["\t".join(names)] + ["\t".join(str(columns[name][i]) for name in names) for i in order]
    path = tmp_path / "listens.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _parquet(tmp_path: Path, table: pa.Table, row_group_size: int = 2) -> Path:
    path = tmp_path / "listens.parquet"
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def test_parquet_and_tsv_of_the_same_rows_give_the_same_fingerprint(tmp_path: Path) -> None:
    """The same rows (in another order) as TSV and as Parquet, with a mapping and log1p,
    load to the same dataset fingerprint and the same rows."""
    log = LogFormat(columns=_MAPPING, weight=Weighting.parse("log1p"))
    tsv = load_interactions_file(_tsv(tmp_path, dict(_LISTENS), [4, 3, 2, 1, 0]), log_format=log)
    parquet = load_interactions_file(_parquet(tmp_path, pa.table(dict(_LISTENS))), log_format=log)
    assert parquet.fingerprint == tsv.fingerprint
    assert sorted(parquet.interactions.items.tolist()) == sorted(tsv.interactions.items.tolist())
    assert parquet.interactions.timestamps.tolist() == _LISTENS["ts"]


def test_string_ids_in_parquet_match_the_tsv_fingerprint(tmp_path: Path) -> None:
    """Track URIs and user UUIDs, dictionary-encoded in Parquet, fingerprint as in TSV."""
    columns: dict[str, list[object]] = {
        "user": ["5f0c-aa", "5f0c-aa", "77b1-cd"],
        "track": ["spotify:track:1", "spotify:track:2", "spotify:track:1"],
        "plays": [3, 1, 8],
    }
    log = LogFormat(
        columns=ColumnMapping(item="track", rating="plays"), ids=IdKinds.parse("string")
    )
    tsv = load_interactions_file(_tsv(tmp_path, columns, [2, 0, 1]), log_format=log)
    table = pa.table(columns).cast(
        pa.schema(
            [
                ("user", pa.dictionary(pa.int32(), pa.string())),
                ("track", pa.large_string()),
                ("plays", pa.int64()),
            ]
        )
    )
    parquet = load_interactions_file(_parquet(tmp_path, table), log_format=log)
    assert parquet.fingerprint == tsv.fingerprint
    assert parquet.items.external_ids == tsv.items.external_ids
    assert set(parquet.items.external_ids) == {"spotify:track:1", "spotify:track:2"}


def test_a_parquet_string_column_of_integers_reads_as_integers(tmp_path: Path) -> None:
    """Ids written as decimal strings are integers, as the same text in a TSV would be."""
    table = pa.table({"user": ["1", "2"], "item": ["10", "20"]})
    dataset = load_interactions_file(_parquet(tmp_path, table))
    assert dataset.interactions.items.tolist() == [10, 20]
    assert dataset.items.external_ids == ()


def test_parquet_timestamps_become_unix_seconds(tmp_path: Path) -> None:
    """A Parquet timestamp column (milliseconds here) gives Unix seconds."""
    table = pa.table(
        {
            "user": [1, 1],
            "item": [2, 3],
            "timestamp": pa.array([1_600_000_000_500, 1_600_000_001_000], pa.timestamp("ms")),
        }
    )
    dataset = load_interactions_file(_parquet(tmp_path, table))
    assert dataset.interactions.timestamps.tolist() == [1_600_000_000, 1_600_000_001]


def test_a_null_is_reported_with_its_row_group_row_and_column(tmp_path: Path) -> None:
    """A missing weight in the third row group is named by row group, row and column."""
    weights = [1.0, 2.0, 3.0, 4.0, None]
    table = pa.table({"user": [1, 2, 3, 4, 5], "item": [1, 1, 1, 1, 1], "weight": weights})
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(_parquet(tmp_path, table))
    error = caught.value
    assert (error.row_group, error.row, error.column, error.line) == (2, 5, "weight", None)
    assert (
        str(error) == "listens.parquet: row group 2, row 5: column 'weight': missing value (null)"
    )


def test_a_weight_that_is_not_a_number_column_is_refused(tmp_path: Path) -> None:
    """A boolean weight column is not a number: the column and its type are named."""
    table = pa.table({"user": [1], "item": [1], "weight": [True]})
    with pytest.raises(DataFormatError, match="column 'weight': rating must be a number"):
        load_interactions_file(_parquet(tmp_path, table))


def test_a_non_number_string_in_a_parquet_column_names_its_row(tmp_path: Path) -> None:
    """Weights stored as strings are parsed like text; a bad one names its row group."""
    table = pa.table({"user": [1, 2, 3], "item": [1, 1, 1], "rating": ["4", "5", "lots"]})
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(_parquet(tmp_path, table))
    assert str(caught.value) == (
        "listens.parquet: row group 1, row 3: column 'rating': rating is not a number: 'lots'"
    )


def test_a_file_that_is_not_parquet_is_refused_whole(tmp_path: Path) -> None:
    """Text named .parquet is not a readable Parquet file (no line: it is not text)."""
    path = tmp_path / "log.parquet"
    path.write_text("user,item\n1,2\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="not a readable Parquet file") as caught:
        ParquetColumns(path)
    assert caught.value.line is None


def test_a_parquet_file_named_csv_says_what_it_is(tmp_path: Path) -> None:
    """Parquet bytes in a file whose name does not say so: the error says to name it."""
    path = tmp_path / "log.dat"
    pq.write_table(pa.table({"user": [1], "item": [2]}), path)
    with pytest.raises(DataFormatError, match="a Parquet file"):
        load_interactions_file(path)
    dataset = load_interactions_file(path, log_format=LogFormat(format="parquet"))
    assert dataset.interactions.items.tolist() == [2]


def test_a_parquet_file_without_rows_is_refused(tmp_path: Path) -> None:
    """No rows: refused like an empty text file."""
    table = pa.table({"user": pa.array([], pa.int64()), "item": pa.array([], pa.int64())})
    with pytest.raises(DataFormatError, match="no data rows"):
        load_interactions_file(_parquet(tmp_path, table))


def test_uint64_ids_past_int64_are_an_error_under_integer_ids(tmp_path: Path) -> None:
    """A uint64 id beyond int64 cannot be an integer id: refused at its row, not hashed."""
    table = pa.table(
        {"user": pa.array([1, 2], pa.uint64()), "item": pa.array([5, 2**64 - 1], pa.uint64())}
    )
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(_parquet(tmp_path, table))
    assert "row group 0, row 2: column 'item': item id 18446744073709551615 is out of range" in str(
        caught.value
    )


def test_integer_ids_read_as_strings_match_a_tsv(tmp_path: Path) -> None:
    """With ids: string an integer column's ids are their decimal text's codes (uint64
    past int64 too), as the same numbers in a TSV are, so both files give one fingerprint."""
    big = 2**64 - 1
    table = pa.table(
        {"user": pa.array([1, 2], pa.uint64()), "item": pa.array([big, 5], pa.uint64())}
    )
    log = LogFormat(ids=IdKinds.parse("string"))
    parquet = load_interactions_file(_parquet(tmp_path, table), log_format=log)
    text = tmp_path / "same.tsv"
    text.write_text(f"user\titem\n1\t{big}\n2\t5\n", encoding="utf-8")
    tsv = load_interactions_file(text, log_format=log)
    assert parquet.fingerprint == tsv.fingerprint
    assert set(parquet.items.external_ids) == {str(big), "5"}
    assert parquet.interactions.items.tolist() == [external_code(str(big)), external_code("5")]
