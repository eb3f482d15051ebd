"""A serving process's local copy of the last pointer record it accepted.

One small JSON file per process and component (`{state_dir}/{component}.pointer.json`):
the record's stored bytes as etcd had them, its sequence number and the revision it was
read at. It carries the high-water mark across restarts (a record older than it is
never accepted again) and lets a restarted process serve its last verified version
while etcd holds something it refuses. A process started with `--min-pointer-sequence`
and no state yet saves a floor: a sequence and no record (`"record": null`). Written
atomically (temporary file, fsync, rename, fsync of the directory), so a crash leaves
the old copy or the new one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from recmesh.etcd.pointer_codec import PointerFormatError, decode_pointer
from recmesh.files.atomic import replace_file

FORMAT = 1


class PointerStateError(ValueError):
    """The state file exists but cannot be read or does not hold a state: refusing to
    start beats forgetting the high-water mark (remove the file to start afresh)."""


@dataclass(frozen=True)
class AcceptedRecord:
    """A pointer record this process accepted, or (stored None, revision 0) the floor it
    was started with: records below that sequence are refused, a record at it is not."""

    stored: bytes | None
    sequence: int
    revision: int


class PointerStateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> AcceptedRecord | None:
        """The last accepted record, None when the file does not exist. The high-water
        mark is the larger of the saved `sequence` and the saved record's own sequence
        (a file edited to lower one does not lower it)."""
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
            record = body["record"]
            if record is not None and not isinstance(record, str):
                raise ValueError(f"record is a {type(record).__name__}, expected a string")
            stored = None if record is None else record.encode()
            return AcceptedRecord(
                stored=stored,
                sequence=max(int(body["sequence"]), _record_sequence(stored)),
                revision=int(body["revision"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PointerStateError(
                f"{self.path}: not a pointer state file ({exc}); it holds the highest "
                "sequence number this process accepted, so it is not ignored: remove it "
                "only to trust the next signed record again"
            ) from exc

    def save(self, record: AcceptedRecord) -> None:
        """Replaces the state atomically; raises OSError (the old state then stays)."""
        body = {
            "format": FORMAT,
            "sequence": record.sequence,
            "revision": record.revision,
            "record": None if record.stored is None else record.stored.decode(),
        }
        data = json.dumps(body, sort_keys=True).encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(self.path, data)


def _record_sequence(stored: bytes | None) -> int:
    """The sequence the stored record itself carries; 0 when it carries none readable
    (PointerTrust then refuses to restore it, and the saved sequence still holds)."""
    if stored is None:
        return 0
    try:
        return decode_pointer(stored, 0).sequence
    except PointerFormatError:
        return 0
