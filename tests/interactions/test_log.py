"""The interaction log: lines round-trip, partial lines wait, a shrunk log is caught."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recmesh.data.errors import DataFormatError
from recmesh.interactions.log_format import LoggedInteraction, LogLineError, parse_line
from recmesh.interactions.log_reader import read_log
from recmesh.interactions.log_writer import InteractionLogWriteError, InteractionLogWriter


def test_appended_interactions_read_back_in_order_with_rows_per_file(tmp_path: Path) -> None:
    """Two writers' files read by name, lines in order; the counts say how far it read."""
    a = InteractionLogWriter(tmp_path, "a")
    b = InteractionLogWriter(tmp_path, "b")
    b.append([LoggedInteraction(3, 30, 1.0, 300)])
    a.append([LoggedInteraction(1, 10, 4.5, 100), LoggedInteraction(2, 20, 3.0, 200)])
    read = read_log(tmp_path)
    assert read.interactions.users.tolist() == [1, 2, 3]
    assert read.interactions.items.tolist() == [10, 20, 30]
    assert read.interactions.ratings.tolist() == [4.5, 3.0, 1.0]
    assert read.interactions.timestamps.tolist() == [100, 200, 300]
    assert dict(read.rows_per_file) == {"a.tsv": 2, "b.tsv": 1}


def test_a_prefix_reads_exactly_what_was_read_before(tmp_path: Path) -> None:
    """rows_per_file reproduces an earlier read after more lines were appended."""
    writer = InteractionLogWriter(tmp_path, "front-1")
    writer.append([LoggedInteraction(1, 10, 4.0, 100)])
    before = read_log(tmp_path)
    writer.append([LoggedInteraction(1, 11, 5.0, 101)])
    again = read_log(tmp_path, before.rows_per_file)
    assert again.interactions.items.tolist() == [10]
    assert len(read_log(tmp_path).interactions) == 2


def test_a_line_still_being_written_is_not_read(tmp_path: Path) -> None:
    """The part after the last LF is a write in progress."""
    (tmp_path / "x.tsv").write_text("1\t10\t4\t100\n2\t20\t")
    assert read_log(tmp_path).interactions.users.tolist() == [1]


def test_a_new_writer_cuts_an_unfinished_line_left_by_a_crash(tmp_path: Path) -> None:
    """The unacknowledged tail goes, so the next line does not glue onto it."""
    (tmp_path / "w.tsv").write_text("1\t10\t4\t100\n2\t20\t")
    InteractionLogWriter(tmp_path, "w").append([LoggedInteraction(3, 30, 1.0, 300)])
    assert (tmp_path / "w.tsv").read_text() == "1\t10\t4\t100\n3\t30\t1\t300\n"


def test_a_shrunk_or_removed_file_is_reported(tmp_path: Path) -> None:
    """Reading a prefix longer than the file, or of a file that is gone, names the file."""
    (tmp_path / "x.tsv").write_text("1\t10\t4\t100\n")
    with pytest.raises(DataFormatError, match="lost lines"):
        read_log(tmp_path, {"x.tsv": 2})
    with pytest.raises(DataFormatError, match="gone"):
        read_log(tmp_path, {"y.tsv": 1})


def test_malformed_lines_name_file_and_line(tmp_path: Path) -> None:
    """A bad line stops the read with file:line and what is wrong."""
    (tmp_path / "x.tsv").write_text("1\t10\t4\t100\n1\tten\t4\t100\n")
    with pytest.raises(DataFormatError) as error:
        read_log(tmp_path)
    assert error.value.line == 2
    for line, message in (
        ("1\t2\t3", "expected 4"),
        ("1\t2\tnan\t4", "not finite"),
        ("1\t2\t3\t-4", "negative"),
    ):
        with pytest.raises(LogLineError, match=message):
            parse_line(line)


def test_a_missing_directory_reads_as_an_empty_log(tmp_path: Path) -> None:
    """No log yet: no rows, nothing read."""
    read = read_log(tmp_path / "none")
    assert len(read.interactions) == 0
    assert read.interactions.users.dtype == np.int64
    assert dict(read.rows_per_file) == {}


def test_a_failed_write_leaves_nothing_and_says_why(tmp_path: Path) -> None:
    """A full disk (/dev/full) fails the batch with the file and the reason."""
    (tmp_path / "full.tsv").symlink_to("/dev/full")
    writer = InteractionLogWriter(tmp_path, "full")
    with pytest.raises(InteractionLogWriteError, match=r"full\.tsv: No space left on device"):
        writer.append([LoggedInteraction(1, 10, 4.0, 100)])


def test_a_file_holding_only_an_unfinished_line_is_emptied(tmp_path: Path) -> None:
    """No LF at all: the whole content is the unacknowledged write."""
    (tmp_path / "w.tsv").write_text("2\t20\t")
    InteractionLogWriter(tmp_path, "w")
    assert (tmp_path / "w.tsv").read_text() == ""
