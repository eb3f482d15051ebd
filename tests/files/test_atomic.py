"""replace_file: whole content, the asked mode, nothing left behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from recmesh.files.atomic import replace_file


def test_the_new_content_replaces_the_old_with_the_mode_asked(tmp_path: Path) -> None:
    """Content replaced, mode set (0600 by default), no temporary file left."""
    path = tmp_path / "secret"
    path.write_bytes(b"old")
    replace_file(path, b"new", mode=0o640)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    replace_file(path, b"newer")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret"]


def test_a_failed_replace_leaves_the_file_and_no_temporary(tmp_path: Path) -> None:
    """A mode the file system refuses mid-way: the old content stays, nothing else."""
    path = tmp_path / "state"
    path.write_bytes(b"old")
    with pytest.raises(OverflowError):
        replace_file(path, b"new", mode=1 << 40)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]
