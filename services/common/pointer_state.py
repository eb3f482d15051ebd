"""A serving process's local copy of the last pointer record it accepted.

One small JSON file per process and component (`{state_dir}/{component}.pointer.json`):
the record's stored bytes as etcd had them, its sequence number and the revision it was
read at. It carries the high-water mark across restarts (a record older than it is
never accepted again) and lets a restarted process serve its last verified version
while etcd holds something it refuses. Written atomically (temporary file, fsync,
rename, fsync of the directory), so a crash leaves the old copy or the new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

FORMAT = 1


class PointerStateError(ValueError):
    """The state file exists but cannot be read or does not hold a state: refusing to
    start beats forgetting the high-water mark (remove the file to start afresh)."""


@dataclass(frozen=True)
class AcceptedRecord:
    """A pointer record this process accepted."""

    stored: bytes
    sequence: int
    revision: int


class PointerStateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> AcceptedRecord | None:
        """The last accepted record, None when the file does not exist."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise PointerStateError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        try:
            body = json.loads(raw)
            if body.get("format") != FORMAT:
                raise ValueError(f"format {body.get('format')!r}, expected {FORMAT}")
            return AcceptedRecord(
                stored=str(body["record"]).encode(),
                sequence=int(body["sequence"]),
                revision=int(body["revision"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PointerStateError(
                f"{self.path}: not a pointer state file ({exc}); it holds the highest "
                "sequence number this process accepted, so it is not ignored: remove it "
                "only to trust the next signed record again"
            ) from exc

    def save(self, record: AcceptedRecord) -> None:
        body = {
            "format": FORMAT,
            "sequence": record.sequence,
            "revision": record.revision,
            "record": record.stored.decode(),
        }
        data = json.dumps(body, sort_keys=True).encode()
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
