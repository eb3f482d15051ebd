"""Appends interactions to one file of an interaction log (see log_format)."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

from recmesh.interactions.log_format import SUFFIX, LoggedInteraction, format_line


class InteractionLogWriteError(OSError):
    """A batch could not be appended; nothing of it is left in the file."""


class InteractionLogWriter:
    """Appends to `directory/<name>.tsv`, one write and one fsync per batch, so a batch
    is on disk before the caller is told it was recorded. A batch is all or none: when a
    write or the fsync fails (a full disk, an I/O error), the file is cut back to its
    size before the batch and InteractionLogWriteError says why. Safe to call from
    several threads: batches never interleave."""

    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{name}{SUFFIX}"
        _drop_unfinished_line(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()

    def append(self, interactions: Sequence[LoggedInteraction]) -> None:
        """Appends the batch (blocking: call it from a worker thread on a server)."""
        data = "".join(format_line(i) for i in interactions).encode()
        with self._lock:
            size = os.fstat(self._fd).st_size
            try:
                written = 0
                while written < len(data):
                    written += os.write(self._fd, data[written:])
                os.fsync(self._fd)
            except OSError as exc:
                message = f"cannot append to {self.path}: {exc.strerror}"
                try:
                    os.ftruncate(self._fd, size)
                except OSError as cut:
                    message += f" (and cutting the partial batch failed: {cut.strerror})"
                raise InteractionLogWriteError(exc.errno, message) from exc

    def close(self) -> None:
        os.close(self._fd)


def _drop_unfinished_line(path: Path) -> None:
    """Cuts a last line without its LF, left by a writer of this name that died
    mid-write: it was never acknowledged, and the next line appended would otherwise
    glue onto it. Reads only the file's tail; leaves anything but a regular file alone."""
    try:
        with path.open("rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                return
            end = file.seek(0, os.SEEK_END)
            position = end
            while position > 0:
                start = max(0, position - _TAIL_CHUNK)
                file.seek(start)
                chunk = file.read(position - start)
                if position == end and chunk.endswith(b"\n"):
                    return
                newline = chunk.rfind(b"\n")
                if newline >= 0:
                    os.truncate(path, start + newline + 1)
                    return
                position = start
            if end:
                os.truncate(path, 0)
    except FileNotFoundError:
        return


_TAIL_CHUNK = 64 * 1024
