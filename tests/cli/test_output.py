"""The CLI's output helpers: aligned tables, short timestamps, enum words."""

from __future__ import annotations

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cli.output import enum_word, print_table, when


def test_table_columns_are_aligned(capsys: pytest.CaptureFixture[str]) -> None:
    """Each column is as wide as its widest cell; trailing spaces are stripped."""
    print_table(("A", "BB"), [("xxx", "y"), ("z", "")])
    assert capsys.readouterr().out.splitlines() == ["A    BB", "xxx  y", "z"]


def test_when_and_enum_word() -> None:
    """Timestamps print to the second in UTC, unset ones as '-'; enum names lose prefixes."""
    stamp = Timestamp()
    stamp.FromSeconds(1_700_000_000)
    assert when(stamp) == "2023-11-14T22:13:20Z"
    assert when(Timestamp()) == "-"
    assert enum_word("EXPERIMENT_STATE_PASSED", "EXPERIMENT_STATE_") == "passed"
