"""Tests for recmesh.data.parsing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recmesh.data.errors import DataFormatError
from recmesh.data.parsing import (
    decode,
    expect_header,
    float_column,
    int_column,
    read_table,
    reject_duplicates,
)


def _table(tmp_path: Path, text: bytes) -> Path:
    path = tmp_path / "t.csv"
    path.write_bytes(text)
    return path


def test_rows_keep_their_line_numbers_across_blank_lines(tmp_path: Path) -> None:
    """Blank lines are skipped and each row reports the line it is on."""
    path = _table(tmp_path, b"a,b\n1,2\n\n3,4\n")
    table = read_table(path, delimiter=",", has_header=True)
    assert table.header == ("a", "b")
    assert table.header_line == 1
    assert [list(r) for r in table.rows] == [["1", "2"], ["3", "4"]]
    assert list(table.lines) == [2, 4]


def test_crlf_line_ends_and_quoted_commas_are_read(tmp_path: Path) -> None:
    """CRLF ends are dropped and a quoted field keeps its comma."""
    path = _table(tmp_path, b'id,title\r\n1,"Heat, The (1995)"\r\n')
    table = read_table(path, delimiter=",", has_header=True)
    assert [list(r) for r in table.rows] == [["1", "Heat, The (1995)"]]


def test_quoted_field_spanning_lines_shifts_later_line_numbers(tmp_path: Path) -> None:
    """After a quoted field with a line break, rows still report their true lines."""
    path = _table(tmp_path, b'id,title\n1,"two\nlines"\n2,x,extra\n')
    with pytest.raises(DataFormatError) as caught:
        read_table(path, delimiter=",", has_header=True)
    assert caught.value.line == 4
    assert caught.value.reason == "expected 2 fields, got 3"


def test_short_row_is_reported_at_its_line(tmp_path: Path) -> None:
    """A row with too few fields is a DataFormatError at its 1-based line."""
    path = _table(tmp_path, b"1\t2\t3\t4\n5\t6\t7\n")
    with pytest.raises(DataFormatError) as caught:
        read_table(path, delimiter="\t", has_header=False, width=4)
    assert str(caught.value) == "t.csv:2: expected 4 fields, got 3"


def test_empty_file_and_header_only_file_are_errors(tmp_path: Path) -> None:
    """A file without data rows is a whole-file DataFormatError."""
    empty = _table(tmp_path, b"")
    with pytest.raises(DataFormatError, match="empty file") as caught:
        read_table(empty, delimiter=",", has_header=True)
    assert caught.value.line is None
    header_only = _table(tmp_path, b"a,b\n")
    with pytest.raises(DataFormatError, match="no data rows"):
        read_table(header_only, delimiter=",", has_header=True)


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    """Reading a file that does not exist raises DataFormatError naming it."""
    with pytest.raises(DataFormatError, match=r"absent\.csv: file not found"):
        read_table(tmp_path / "absent.csv", delimiter=",", has_header=True)


def test_invalid_utf8_is_reported_at_the_line_with_the_bad_bytes(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 give the line (and column) where they are."""
    data = "a,b\n1,2\n3,Mis\u00e9rables\n".encode("latin-1")
    with pytest.raises(DataFormatError) as caught:
        decode(Path("movies.csv"), data)
    assert caught.value.line == 3
    assert "not valid UTF-8 (bytes e9 at column 6)" in caught.value.reason


def test_latin1_decoding_accepts_any_byte() -> None:
    """With encoding latin-1 every byte decodes (u.item is latin-1)."""
    assert decode(Path("u.item"), b"Mis\xe9rables", "latin-1") == "Misérables"


def test_utf8_byte_order_mark_is_dropped() -> None:
    """A leading UTF-8 BOM is not part of the first header name."""
    assert decode(Path("x.csv"), b"\xef\xbb\xbfuserId") == "userId"


def test_bad_quoting_is_a_format_error(tmp_path: Path) -> None:
    """A quote inside an unquoted field violates strict CSV and names the line."""
    path = _table(tmp_path, b'a,b\n1,"x"y\n')
    with pytest.raises(DataFormatError) as caught:
        read_table(path, delimiter=",", has_header=True, quoted=True)
    assert caught.value.line == 2


def test_unquoted_mode_keeps_quotes_as_text(tmp_path: Path) -> None:
    """With quoted=False a double quote is an ordinary character."""
    path = _table(tmp_path, b'1\t"Quoted" title\n')
    table = read_table(path, delimiter="\t", has_header=False, quoted=False)
    assert table.rows[0][1] == '"Quoted" title'


def test_int_column_rejects_non_decimal_spellings(tmp_path: Path) -> None:
    """Floats, underscores, hex, non-ASCII digits and empty fields are not integers."""
    for bad in ("1.5", "1_000", "0x10", "\u0661\u0662", "", "abc"):
        path = _table(tmp_path, f"id,x\n7,0\n{bad},0\n".encode())
        table = read_table(path, delimiter=",", has_header=True)
        with pytest.raises(DataFormatError) as caught:
            int_column(table, 0, "user id")
        assert caught.value.line == 3, bad
        assert caught.value.reason == f"user id is not an integer: {bad!r}"


def test_int_column_reports_int64_overflow(tmp_path: Path) -> None:
    """An integer beyond int64 is out of range at its line."""
    path = _table(tmp_path, b"id\n1\n99999999999999999999\n")
    table = read_table(path, delimiter=",", has_header=True)
    with pytest.raises(DataFormatError, match="out of range") as caught:
        int_column(table, 0, "item id")
    assert caught.value.line == 3


def test_float_column_rejects_nan_inf_and_overflow(tmp_path: Path) -> None:
    """nan and inf are not numbers here, and 1e300 does not fit a float32."""
    for bad, reason in (("nan", "not a number"), ("inf", "not a number"), ("1e300", "range")):
        path = _table(tmp_path, f"r\n4.5\n{bad}\n".encode())
        table = read_table(path, delimiter=",", has_header=True)
        with pytest.raises(DataFormatError, match=reason) as caught:
            float_column(table, 0, "rating")
        assert caught.value.line == 3


def test_numeric_columns_convert_exactly(tmp_path: Path) -> None:
    """Valid fields convert to int64 and float32 values, padded spaces allowed."""
    path = _table(tmp_path, b"a,b\n-3,4.5\n 12 ,.5\n+7,1e1\n")
    table = read_table(path, delimiter=",", has_header=True)
    assert int_column(table, 0, "a").tolist() == [-3, 12, 7]
    assert float_column(table, 1, "b").tolist() == [4.5, 0.5, 10.0]
    assert float_column(table, 1, "b").dtype == np.float32


def test_value_holding_a_line_break_is_checked_per_value(tmp_path: Path) -> None:
    """A quoted number field with a line break in it is rejected, not split in two."""
    path = _table(tmp_path, b'a\n1\n"2\n3"\n')
    table = read_table(path, delimiter=",", has_header=True)
    with pytest.raises(DataFormatError) as caught:
        int_column(table, 0, "a")
    assert caught.value.line == 4


def test_expect_header_names_the_expected_columns(tmp_path: Path) -> None:
    """A different header is a DataFormatError at the header line listing both."""
    path = _table(tmp_path, b"user,item\n1,2\n")
    table = read_table(path, delimiter=",", has_header=True)
    with pytest.raises(DataFormatError) as caught:
        expect_header(table, ("userId", "movieId"))
    assert str(caught.value) == "t.csv:1: expected header userId, movieId; got user, item"


def test_reject_duplicates_reports_the_second_occurrence(tmp_path: Path) -> None:
    """A repeated id is reported at the line that repeats it."""
    path = _table(tmp_path, b"id\n5\n6\n5\n")
    table = read_table(path, delimiter=",", has_header=True)
    with pytest.raises(DataFormatError, match="item id 5 appears twice") as caught:
        reject_duplicates(table, int_column(table, 0, "id"), "item id")
    assert caught.value.line == 4
