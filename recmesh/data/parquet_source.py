"""A Parquet file as checked columns (pyarrow), errors naming the row group and column.

Id columns may be integers or strings (dictionary-encoded too); number columns
integers, floats or decimals; a timestamp column integers (Unix seconds) or a Parquet
timestamp (converted to seconds). A missing value (null) is an error at its row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from recmesh.data.column_source import ids_of_strings, integer_id_error
from recmesh.data.errors import DataFormatError
from recmesh.data.external_ids import ExternalIds
from recmesh.data.log_format import IdKind
from recmesh.data.parsing import RowError, finite_float32, float_values, int_values


class ParquetColumns:
    """One Parquet file; a column is read whole when first asked for."""

    def __init__(self, path: Path) -> None:
        self._path = path
        if not path.is_file():
            what = "is a directory, expected a file" if path.is_dir() else "file not found"
            raise DataFormatError(path, None, what)
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise DataFormatError(path, None, f"not a readable Parquet file ({exc})") from None
        metadata = self._file.metadata
        sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        self._ends = np.cumsum(np.asarray(sizes, dtype=np.int64))
        self._names = tuple(str(name) for name in self._file.schema_arrow.names)
        if len(self) == 0:
            raise DataFormatError(path, None, "no data rows")

    @property
    def path(self) -> Path:
        return self._path

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def __len__(self) -> int:
        return int(self._ends[-1]) if self._ends.shape[0] else 0

    def header_error(self, reason: str) -> DataFormatError:
        return DataFormatError(self._path, None, reason)

    def row_error(self, column: int) -> RowError:
        name, ends, path = self._names[column], self._ends, self._path

        def error(row: int, reason: str) -> DataFormatError:
            group = int(np.searchsorted(ends, row, side="right"))
            return DataFormatError(path, None, reason, column=name, row_group=group, row=row + 1)

        return error

    def strings(self, column: int) -> list[str]:
        values = self._read(column)
        if not _is_text(values.type):
            values = values.cast(pa.string())
        return [str(v) for v in values.to_pylist()]

    def ids(
        self, column: int, what: str, kind: IdKind
    ) -> tuple[NDArray[np.int64], ExternalIds | None]:
        values = self._read(column)
        if kind == "integer" and pa.types.is_integer(values.type):
            return _int64(values, what, integer_id_error(self.row_error(column))), None
        if pa.types.is_integer(values.type) or _is_text(values.type):
            # An integer column read as strings: each id is its decimal text, as in a TSV.
            return ids_of_strings(self.strings(column), what, self.row_error(column), kind)
        raise self.row_error(column)(0, f"{what}s must be integers or strings, not {values.type}")

    def numbers(self, column: int, what: str) -> NDArray[np.float32]:
        values = self._read(column)
        error = self.row_error(column)
        if _is_text(values.type):
            return float_values(self.strings(column), what, error)
        kind = values.type
        if not (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        ):
            raise error(0, f"{what} must be a number column, not {kind}")
        wide = np.asarray(values.cast(pa.float64()).to_numpy(zero_copy_only=False), np.float64)
        return finite_float32(wide, wide.tolist(), what, error)

    def integers(self, column: int, what: str) -> NDArray[np.int64]:
        values = self._read(column)
        if pa.types.is_timestamp(values.type):
            ticks = np.asarray(values.cast(pa.int64()).to_numpy(), dtype=np.int64)
            return ticks // _PER_SECOND[values.type.unit]
        if _is_text(values.type):
            return int_values(self.strings(column), what, self.row_error(column))
        if not pa.types.is_integer(values.type):
            raise self.row_error(column)(0, f"{what} must be integers, not {values.type}")
        return _int64(values, what, self.row_error(column))

    def _read(self, column: int) -> Any:
        name = self._names[column]
        try:
            values = self._file.read(columns=[name]).column(0).combine_chunks()
        except (pa.ArrowException, OSError) as exc:
            raise DataFormatError(self._path, None, f"cannot read ({exc})", column=name) from None
        if isinstance(values, pa.DictionaryArray):
            values = values.dictionary_decode()
        if values.null_count:
            nulls = np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=np.bool_)
            raise self.row_error(column)(int(np.argmax(nulls)), "missing value (null)")
        return values


def _int64(values: Any, what: str, error: RowError) -> NDArray[np.int64]:
    if values.type == pa.uint64():
        wide = np.asarray(values.to_numpy(), dtype=np.uint64)
        too_big = wide > np.uint64(2**63 - 1)
        if too_big.any():
            row = int(np.argmax(too_big))
            raise error(row, f"{what} {int(wide[row])} is out of range")
    return np.asarray(values.cast(pa.int64()).to_numpy(), dtype=np.int64)


_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _is_text(kind: Any) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))
