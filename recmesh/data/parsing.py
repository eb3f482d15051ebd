"""Strict parsing of delimited text files, shared by every loader.

The whole file is read and checked before any array is built, and every
problem is a `DataFormatError` naming the file and the 1-based line. Rows are
split by the csv module in one call; a numeric column is checked by one regex
pass over the whole column and only then converted, so 100k rows take well
under a second with no per-row work beyond the conversion itself.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from recmesh.data.errors import DataFormatError

if TYPE_CHECKING:
    from _csv import Reader

# Plain decimal numbers only: no "nan", "inf", "0x10", "1_000" or non-ASCII digits,
# which Python's and numpy's converters would otherwise accept.
_INT = re.compile(r" *[+-]?[0-9]+ *")
_FLOAT = re.compile(r" *[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)? *")
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Table:
    """The rows of a delimited file as strings, each with the line it ends on.

    Every row has the same number of fields; `header` is None for files without
    one. There is at least one row.
    """

    path: Path
    header: tuple[str, ...] | None
    rows: Sequence[Sequence[str]]
    lines: Sequence[int]
    header_line: int | None = None

    def column(self, index: int) -> list[str]:
        return [row[index] for row in self.rows]

    def error(self, row: int, reason: str, column: str | None = None) -> DataFormatError:
        """The error for row number `row` (0-based, not counting the header)."""
        return DataFormatError(self.path, self.lines[row], reason, column=column)


def read_bytes(path: Path) -> bytes:
    """The file's bytes; a missing file is a DataFormatError for the whole file."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataFormatError(path, None, "file not found") from None
    except IsADirectoryError:
        raise DataFormatError(path, None, "is a directory, expected a file") from None


def decode(path: Path, data: bytes, encoding: str = "utf-8") -> str:
    """`data` decoded; invalid UTF-8 is reported at the line holding the bad bytes.

    A leading UTF-8 byte order mark is dropped.
    """
    if encoding != "utf-8":
        return data.decode(encoding)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start : exc.end].hex(" ")
        raise DataFormatError(
            path, line, f"not valid UTF-8 (bytes {bad} at column {column})"
        ) from None


def read_table(
    path: Path,
    *,
    delimiter: str,
    has_header: bool,
    width: int | None = None,
    encoding: str = "utf-8",
    quoted: bool = True,
    data: bytes | None = None,
) -> Table:
    """Parses a delimited file (or its given `data`) into a checked Table.

    `width` is the number of fields every row must have; without it, the header's
    (or the first row's) width. `quoted` enables CSV double-quote rules; without it
    quotes are ordinary characters. Blank lines are skipped. Raises
    DataFormatError for a missing file, bad encoding, bad quoting, a row of the
    wrong width, or a file without data rows.
    """
    raw = read_bytes(path) if data is None else data
    text = decode(path, raw, encoding)
    rows, lines = _split_rows(path, text, delimiter, quoted)
    if has_header and rows:
        header: tuple[str, ...] | None = tuple(rows[0])
        header_line: int | None = lines[0]
        if width is not None and len(rows[0]) != width:
            raise DataFormatError(
                path, lines[0], f"expected {width} header fields, got {len(rows[0])}"
            )
        width = len(rows[0])
        rows, lines = rows[1:], lines[1:]
    else:
        header, header_line = None, None
    if not rows:
        what = "empty file" if not text.strip() else "no data rows"
        raise DataFormatError(path, None, what)
    if width is None:
        width = len(rows[0])
    if set(map(len, rows)) != {width}:
        row = next(i for i, fields in enumerate(rows) if len(fields) != width)
        raise DataFormatError(path, lines[row], f"expected {width} fields, got {len(rows[row])}")
    return Table(path=path, header=header, rows=rows, lines=lines, header_line=header_line)


def _split_rows(
    path: Path, text: str, delimiter: str, quoted: bool
) -> tuple[list[list[str]], Sequence[int]]:
    """The non-blank rows of `text` and the line each ends on."""

    def reader() -> Reader:
        return csv.reader(
            io.StringIO(text, newline=""),
            delimiter=delimiter,
            quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
            strict=True,
        )

    rows_reader = reader()
    try:
        rows = list(rows_reader)
    except csv.Error as exc:
        raise DataFormatError(path, rows_reader.line_num, str(exc)) from None
    if rows_reader.line_num == len(rows):
        # No quoted field spans lines, so row i is line i + 1 (blank lines included).
        lines: Sequence[int] = range(1, len(rows) + 1)
    else:
        numbered = reader()
        lines = [numbered.line_num for _ in numbered]
    if [] in rows:
        kept = [i for i, row in enumerate(rows) if row]
        return [rows[i] for i in kept], [lines[i] for i in kept]
    return rows, lines


def expect_header(table: Table, expected: Sequence[str]) -> None:
    """Raises DataFormatError unless the table's header is exactly `expected`."""
    if table.header is None or tuple(table.header) != tuple(expected):
        got = ", ".join(table.header or ())
        raise DataFormatError(
            table.path,
            table.header_line,
            f"expected header {', '.join(expected)}; got {got or 'none'}",
        )


def reject_duplicates(table: Table, ids: NDArray[np.int64], name: str) -> None:
    """Raises DataFormatError at the second row that repeats an id of `ids` (a column)."""
    _, first = np.unique(ids, return_index=True)
    if first.shape[0] != ids.shape[0]:
        repeated = np.ones(ids.shape[0], dtype=np.bool_)
        repeated[first] = False
        row = int(np.argmax(repeated))
        raise table.error(row, f"{name} {int(ids[row])} appears twice")


#: Makes the error for row `row` (0-based) of a column: `(row, reason) -> error`.
RowError = Callable[[int, str], DataFormatError]


def int_column(table: Table, index: int, name: str) -> NDArray[np.int64]:
    """Column `index` as int64; a field that is not a decimal integer is an error."""
    return int_values(table.column(index), name, table.error)


def float_column(table: Table, index: int, name: str) -> NDArray[np.float32]:
    """Column `index` as float32; a field that is not a finite decimal number is an error."""
    return float_values(table.column(index), name, table.error)


def int_values(values: list[str], name: str, error: RowError) -> NDArray[np.int64]:
    """`values` as int64; raises `error(row, reason)` at the first that is not a decimal
    integer or does not fit."""
    _check_syntax(values, _INT, name, "an integer", error)
    try:
        return np.fromiter(map(int, values), dtype=np.int64, count=len(values))
    except OverflowError:
        row = next(i for i, v in enumerate(values) if not -_INT64_MAX - 1 <= int(v) <= _INT64_MAX)
        raise error(row, f"{name} {values[row].strip()!r} is out of range") from None


def float_values(values: list[str], name: str, error: RowError) -> NDArray[np.float32]:
    """`values` as float32; raises `error(row, reason)` at the first that is not a finite
    decimal number (in float32)."""
    _check_syntax(values, _FLOAT, name, "a number", error)
    wide = np.fromiter(map(float, values), dtype=np.float64, count=len(values))
    return finite_float32(wide, values, name, error)


def finite_float32(
    wide: NDArray[np.float64], shown: Sequence[object], name: str, error: RowError
) -> NDArray[np.float32]:
    """`wide` as float32; raises at the first value that is not finite there (`shown[row]`
    is how the error quotes it)."""
    with np.errstate(over="ignore", invalid="ignore"):
        result = wide.astype(np.float32)
    finite = np.isfinite(result)
    if not finite.all():
        row = int(np.argmin(finite))
        raise error(row, f"{name} {str(shown[row]).strip()!r} is out of range")
    return result


def _check_syntax(
    values: list[str], pattern: re.Pattern[str], name: str, kind: str, error: RowError
) -> None:
    # One regex pass over all values joined by newlines finds the first line that is
    # not a whole match; per-value matching is the fallback when a value itself
    # holds a line break (possible in a quoted CSV field).
    joined = "\n".join(values)
    if joined.count("\n") == len(values) - 1:
        bad = re.search(f"(?m)^(?!(?:{pattern.pattern})$)", joined)
        if bad is None:
            return
        row = joined.count("\n", 0, bad.start())
    else:
        row = next(i for i, value in enumerate(values) if pattern.fullmatch(value) is None)
    raise error(row, f"{name} is not {kind}: {values[row]!r}")
