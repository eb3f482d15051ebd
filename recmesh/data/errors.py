"""Errors of the data layer: a malformed file, a failed checksum, data nowhere to be had.

Every error of this package derives from `DataError`, so a command can report any
of them in one place; none of them is ever caught and dropped inside the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class DataError(Exception):
    """Base of every error the data layer raises on purpose."""


class DataFormatError(DataError, ValueError):
    """A data file does not have the format its loader expects.

    `line` is the 1-based line number in a text file, or None when the problem is
    the whole file (empty, missing, wrong layout) or the file is not text. In a
    Parquet file `row_group` (0-based, as pyarrow counts) and `row` (1-based, in the
    whole file) say where instead. `column` names the column when the problem is in
    one. `str()` reads like `ratings.csv:17: expected 4 fields, got 3`,
    `plays.tsv:3: column 'weight': not a number: 'x'` or
    `plays.parquet: row group 2, row 40001: column 'userID': empty id`.
    """

    def __init__(
        self,
        path: Path,
        line: int | None,
        reason: str,
        *,
        column: str | None = None,
        row_group: int | None = None,
        row: int | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        self.column = column
        self.row_group = row_group
        self.row = row
        super().__init__(self.located(path.name))

    def located(self, file: str) -> str:
        """The message with the file written as `file` (a name or a full path)."""
        where = file if self.line is None else f"{file}:{self.line}"
        if self.row_group is not None:
            where += f": row group {self.row_group}"
            if self.row is not None:
                where += f", row {self.row}"
        if self.column is not None:
            where += f": column {self.column!r}"
        return f"{where}: {self.reason}"


class ChecksumMismatchError(DataError):
    """Bytes that must have a known sha256 have another one."""

    def __init__(self, what: str, expected: str, actual: str) -> None:
        self.what = what
        self.expected = expected
        self.actual = actual
        super().__init__(f"{what}: sha256 is {actual}, expected {expected}")


class DataUnavailableError(DataError):
    """No source could provide the data; `attempts` lists (source, why it failed)."""

    def __init__(self, dataset: str, attempts: Sequence[tuple[str, str]]) -> None:
        self.dataset = dataset
        self.attempts = tuple(attempts)
        tried = "; ".join(f"{source}: {why}" for source, why in self.attempts)
        super().__init__(f"could not obtain {dataset} from any source ({tried or 'none tried'})")
