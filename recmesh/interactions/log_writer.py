"""Appends interactions to one file of an interaction log (see log_format)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from recmesh.interactions.log_format import SUFFIX, LoggedInteraction, format_line


class InteractionLogWriter:
    """Appends to `directory/<name>.tsv`, one write and one fsync per batch, so a batch
    is on disk before the caller is told it was recorded."""

    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{name}{SUFFIX}"
        _drop_unfinished_line(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, interactions: Sequence[LoggedInteraction]) -> None:
        """Appends the batch (blocking: call it from a worker thread on a server)."""
        data = "".join(format_line(i) for i in interactions).encode()
        written = 0
        while written < len(data):
            written += os.write(self._fd, data[written:])
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def _drop_unfinished_line(path: Path) -> None:
    """Cuts a last line without its LF, left by a writer that died mid-write: it was
    never acknowledged, and the next line appended would otherwise glue onto it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    if data and not data.endswith(b"\n"):
        os.truncate(path, data.rfind(b"\n") + 1)
