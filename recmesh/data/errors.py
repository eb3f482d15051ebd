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

    `line` is the 1-based line number in the file, or None when the problem is
    the whole file (empty, missing, wrong layout). `str()` reads like
    `ratings.csv:17: expected 4 fields, got 3`.
    """

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = path.name if line is None else f"{path.name}:{line}"
        super().__init__(f"{where}: {reason}")


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
