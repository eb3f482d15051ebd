"""Tests for recmesh.data.errors."""

from __future__ import annotations

from pathlib import Path

from recmesh.data.errors import (
    ChecksumMismatchError,
    DataError,
    DataFormatError,
    DataUnavailableError,
)


def test_format_error_reads_file_colon_line_colon_reason() -> None:
    """str(DataFormatError) is `name:line: reason` and the parts stay available."""
    error = DataFormatError(Path("/data/ml/ratings.csv"), 17, "expected 4 fields, got 3")
    assert str(error) == "ratings.csv:17: expected 4 fields, got 3"
    assert (error.path, error.line, error.reason) == (
        Path("/data/ml/ratings.csv"),
        17,
        "expected 4 fields, got 3",
    )


def test_format_error_without_line_names_only_the_file() -> None:
    """A whole-file problem has line None and no line number in its message."""
    error = DataFormatError(Path("movies.csv"), None, "empty file")
    assert str(error) == "movies.csv: empty file"
    assert error.line is None


def test_format_error_is_a_value_error_and_a_data_error() -> None:
    """DataFormatError can be caught as ValueError or as the package's DataError."""
    error = DataFormatError(Path("x.csv"), 1, "bad")
    assert isinstance(error, ValueError)
    assert isinstance(error, DataError)


def test_checksum_mismatch_names_both_digests() -> None:
    """ChecksumMismatchError says what was checked, the digest found and the one expected."""
    error = ChecksumMismatchError("u.data", "a" * 64, "b" * 64)
    assert str(error) == f"u.data: sha256 is {'b' * 64}, expected {'a' * 64}"
    assert isinstance(error, DataError)


def test_unavailable_lists_every_source_tried_and_why() -> None:
    """DataUnavailableError's message names each source and its failure, in order."""
    error = DataUnavailableError("ml-100k", [("GroupLens", "DNS failed"), ("PyPI", "exit 1")])
    assert str(error) == (
        "could not obtain ml-100k from any source (GroupLens: DNS failed; PyPI: exit 1)"
    )
    assert error.attempts == (("GroupLens", "DNS failed"), ("PyPI", "exit 1"))
