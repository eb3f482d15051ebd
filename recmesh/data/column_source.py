"""The columns of a tabular file, whatever its format, read with errors that say where.

A `ColumnSource` is one file (CSV, TSV or Parquet) seen as named columns; every value
it hands out has been checked, and every problem is a DataFormatError naming the file,
the line (text) or row group (Parquet), and the column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from recmesh.data.errors import DataFormatError
from recmesh.data.external_ids import CodeCollisionError, ExternalIds, encode
from recmesh.data.log_format import FileFormat, IdKind, format_of_name
from recmesh.data.parsing import (
    RowError,
    Table,
    decode,
    float_values,
    int_values,
    read_bytes,
    read_table,
)


class ColumnSource(Protocol):
    """A file with a header, as checked columns. `names` are the header's names."""

    @property
    def path(self) -> Path: ...

    @property
    def names(self) -> tuple[str, ...]: ...

    def __len__(self) -> int: ...

    def header_error(self, reason: str) -> DataFormatError:
        """An error about the header (a missing or doubled column)."""
        ...

    def row_error(self, column: int) -> RowError:
        """`(row, reason) -> error` for rows (0-based) of column `column`."""
        ...

    def strings(self, column: int) -> list[str]:
        """Every value of the column as text (missing values are an error)."""
        ...

    def ids(
        self, column: int, what: str, kind: IdKind
    ) -> tuple[NDArray[np.int64], ExternalIds | None]:
        """The column as int64 ids of `kind` (see `ids_of_strings`), with their strings
        when `kind` is string."""
        ...

    def numbers(self, column: int, what: str) -> NDArray[np.float32]:
        """The column as finite float32 numbers."""
        ...

    def integers(self, column: int, what: str) -> NDArray[np.int64]:
        """The column as int64 (a Parquet timestamp column: Unix seconds)."""
        ...


def ids_of_strings(
    values: list[str], what: str, error: RowError, kind: IdKind
) -> tuple[NDArray[np.int64], ExternalIds | None]:
    """Ids of an id column given as text: for `integer`, its integers (no mapping; a value
    that is not a decimal integer fitting in int64 is an error at its row); for `string`,
    each string's code (`recmesh.data.external_ids`) and the mapping (an empty id is an
    error)."""
    if kind == "integer":
        return int_values(values, what, integer_id_error(error)), None
    blank = next((i for i, value in enumerate(values) if not value.strip()), None)
    if blank is not None:
        raise error(blank, f"empty {what}")
    try:
        return encode(values)
    except CodeCollisionError as exc:
        raise error(exc.row, str(exc)) from None


def integer_id_error(error: RowError) -> RowError:
    """`error` with what to do about an id that is not an integer."""
    return lambda row, reason: error(row, f"{reason} (string ids are read with ids: string)")


class TextColumns:
    """A delimited text file with a header line (UTF-8; CSV quoting unless tab-separated)."""

    def __init__(self, table: Table) -> None:
        if table.header is None:
            raise ValueError("TextColumns needs a table with a header")
        self._table = table
        self._names = table.header

    @property
    def path(self) -> Path:
        return self._table.path

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def __len__(self) -> int:
        return len(self._table.rows)

    def header_error(self, reason: str) -> DataFormatError:
        return DataFormatError(self._table.path, self._table.header_line, reason)

    def row_error(self, column: int) -> RowError:
        table, name = self._table, self._names[column]
        return lambda row, reason: table.error(row, reason, column=name)

    def strings(self, column: int) -> list[str]:
        return self._table.column(column)

    def ids(
        self, column: int, what: str, kind: IdKind
    ) -> tuple[NDArray[np.int64], ExternalIds | None]:
        return ids_of_strings(self.strings(column), what, self.row_error(column), kind)

    def numbers(self, column: int, what: str) -> NDArray[np.float32]:
        return float_values(self.strings(column), what, self.row_error(column))

    def integers(self, column: int, what: str) -> NDArray[np.int64]:
        return int_values(self.strings(column), what, self.row_error(column))


def open_columns(
    path: Path, file_format: FileFormat | None = None, delimiter: str | None = None
) -> ColumnSource:
    """`path` as columns: Parquet when `file_format` (else the extension) says so,
    otherwise delimited text (tab for TSV, comma for CSV, else `delimiter`, else sniffed
    from the header: tab, comma or semicolon)."""
    file_format = file_format or format_of_name(path.name)
    if file_format == "parquet":
        from recmesh.data.parquet_source import ParquetColumns

        return ParquetColumns(path)
    data = read_bytes(path)
    if delimiter is None:
        delimiter = {"csv": ",", "tsv": "\t"}.get(file_format or "") or _sniff(path, data)
    table = read_table(
        path, delimiter=delimiter, has_header=True, quoted=delimiter != "\t", data=data
    )
    return TextColumns(table)


def _sniff(path: Path, data: bytes) -> str:
    if data.startswith(b"PAR1"):
        raise DataFormatError(path, None, "a Parquet file: name it .parquet or give format parquet")
    header = decode(path, data.partition(b"\n")[0])
    for candidate in ("\t", ",", ";"):
        if candidate in header:
            return candidate
    raise DataFormatError(path, 1, "cannot tell the delimiter: no tab, comma or semicolon")
