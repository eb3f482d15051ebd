"""PointerStateFile: the high-water mark a serving process keeps across its restarts."""

from __future__ import annotations

import json
from pathlib import Path

from recmesh.etcd.pointer_codec import encode_pointer
from services.common.pointer_state import AcceptedRecord, PointerStateFile
from tests.pointer_signing import PointerKey


def test_a_saved_sequence_below_the_records_own_is_raised_to_it(tmp_path: Path) -> None:
    """A state whose `sequence` was lowered (edited, or written by a bug) below the
    sequence its record carries loads with the record's: the mark never goes down."""
    key = PointerKey.generate()
    path = tmp_path / "ranking.pointer.json"
    stored = encode_pointer(key.signed("sv-a", "ab" * 32, sequence=9))
    PointerStateFile(path).save(AcceptedRecord(stored, 9, 40))
    body = json.loads(path.read_text())
    body["sequence"] = 2
    path.write_text(json.dumps(body))
    loaded = PointerStateFile(path).load()
    assert loaded is not None
    assert loaded.sequence == 9


def test_a_floor_is_saved_without_a_record(tmp_path: Path) -> None:
    """A floor (no record) round-trips as `"record": null` and its sequence."""
    path = tmp_path / "ranking.pointer.json"
    PointerStateFile(path).save(AcceptedRecord(None, 7, 0))
    assert json.loads(path.read_text())["record"] is None
    assert PointerStateFile(path).load() == AcceptedRecord(None, 7, 0)
