"""Replace a file's content whole: a temporary file beside it, fsync, rename, fsync of
the directory (so the rename itself survives a crash)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_file(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Writes `data` to a temporary file in `path`'s directory, fsyncs it, renames it
    over `path` and fsyncs the directory, so a reader sees the old content or the new,
    never part of it. `mode` sets the permissions (default: the temporary file's own,
    owner read-write only).
    On any failure the temporary file is removed and `path` is left as it was."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            if mode is not None:
                os.fchmod(tmp.fileno(), mode)
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
