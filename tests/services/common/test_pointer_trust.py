"""PointerTrust: a serving process follows only signed records newer than any it accepted,
remembered across its restarts in its state file."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from recmesh.etcd.pointer_codec import encode_pointer
from services.common.pointer_state import AcceptedRecord, PointerStateError, PointerStateFile
from services.common.pointer_trust import PointerStateSaveError, PointerTrust
from tests.pointer_signing import PointerKey


class _Counted:
    """Records what the trust reports (the production observer feeds Prometheus)."""

    def __init__(self) -> None:
        self.refusals: list[str] = []
        self.sequences: list[int] = []
        self.saves_failed = 0
        self.regressions: list[str] = []

    def accepted(self, sequence: int) -> None:
        self.sequences.append(sequence)

    def refused(self, reason: str) -> None:
        self.refusals.append(reason)

    def save_failed(self) -> None:
        self.saves_failed += 1

    def revision_regressed(self, stage: str) -> None:
        self.regressions.append(stage)


def _trust(key: PointerKey, state: Path, events: _Counted | None = None) -> PointerTrust:
    return PointerTrust("ranking", key.ring, PointerStateFile(state), events or _Counted())


def _value(key: PointerKey, version: str, sequence: int) -> bytes:
    return encode_pointer(key.signed(version, "ab" * 32, sequence=sequence))


def test_signed_records_are_followed_in_sequence_order(tmp_path: Path) -> None:
    """Each signed record with a higher sequence is accepted and counted as accepted."""
    key, events = PointerKey.generate(), _Counted()
    trust = _trust(key, tmp_path / "state.json", events)
    first = trust.admit(_value(key, "sv-a", 5), 10)
    second = trust.admit(_value(key, "sv-b", 9), 11)
    assert first is not None
    assert first.serving_version == "sv-a"
    assert second is not None
    assert second.serving_version == "sv-b"
    assert events.sequences == [5, 9]
    assert trust.high_water == 9


def test_unsigned_garbage_and_foreign_records_are_refused_logged_and_counted(
    tmp_path: Path,
) -> None:
    """An unsigned record, bytes that are no record and a record of another key change
    nothing: each is logged as pointer_record_refused with its reason and counted once."""
    key, events = PointerKey.generate(), _Counted()
    trust = _trust(key, tmp_path / "state.json", events)
    assert trust.admit(_value(key, "sv-a", 5), 10) is not None
    unsigned = key.signed("sv-evil", "00" * 32, sequence=6)
    unsigned.ClearField("signature")
    with capture_logs() as logs:
        assert trust.admit(encode_pointer(unsigned), 11) is None
        assert trust.admit(b'{"servingVersion": 1', 12) is None
        assert trust.admit(b'{"servingVersion": 1', 12) is None  # the same value re-read
        assert trust.admit(_value(PointerKey.generate(), "sv-evil", 7), 13) is None
    assert events.refusals == ["unsigned", "malformed", "unknown_key"]
    refused = [e for e in logs if e["event"] == "pointer_record_refused"]
    assert [e["reason"] for e in refused] == ["unsigned", "malformed", "unknown_key"]
    assert all(e["serving"] == "sv-a" for e in refused)
    assert trust.current is not None
    assert trust.current.serving_version == "sv-a"


def test_an_older_record_written_back_is_a_replay(tmp_path: Path) -> None:
    """A genuinely signed record with a lower sequence than one accepted is refused
    (replayed); so is another record with the same sequence. The very same record read
    again is accepted as it is."""
    key, events = PointerKey.generate(), _Counted()
    trust = _trust(key, tmp_path / "state.json", events)
    old = _value(key, "sv-a", 5)
    assert trust.admit(old, 10) is not None
    new = _value(key, "sv-b", 6)
    assert trust.admit(new, 11) is not None
    assert trust.admit(old, 12) is None
    assert trust.admit(_value(key, "sv-c", 6), 13) is None
    again = trust.admit(new, 14)
    assert again is not None
    assert again.serving_version == "sv-b"
    assert events.refusals == ["replayed", "replayed"]


def test_the_high_water_mark_and_last_record_survive_a_restart(tmp_path: Path) -> None:
    """A new PointerTrust on the same state file restores the last accepted record (to
    serve before etcd answers) and still refuses records older than it."""
    key = PointerKey.generate()
    state = tmp_path / "state.json"
    first = _trust(key, state)
    old = _value(key, "sv-a", 5)
    assert first.admit(old, 10) is not None
    assert first.admit(_value(key, "sv-b", 6), 11) is not None
    restarted = _trust(key, state)
    assert restarted.current is not None
    assert restarted.current.serving_version == "sv-b"
    assert restarted.current.revision == 0
    assert restarted.high_water == 6
    assert restarted.admit(old, 12) is None


def test_a_saved_record_whose_key_was_dropped_is_not_restored(tmp_path: Path) -> None:
    """After its key leaves the ring, the saved record is not served again, but its
    sequence still bounds what is accepted."""
    old_key, new_key = PointerKey.generate(), PointerKey.generate()
    state = tmp_path / "state.json"
    assert _trust(old_key, state).admit(_value(old_key, "sv-a", 5), 10) is not None
    restarted = _trust(new_key, state)
    assert restarted.current is None
    assert restarted.admit(_value(new_key, "sv-b", 4), 11) is None
    assert restarted.admit(_value(new_key, "sv-b", 6), 12) is not None


def test_an_unreadable_state_file_stops_the_start(tmp_path: Path) -> None:
    """A state file that holds no state raises PointerStateError naming it: forgetting the
    high-water mark silently would let a replay through."""
    state = tmp_path / "state.json"
    state.write_text("{not json")
    with pytest.raises(PointerStateError, match=str(state)):
        _trust(PointerKey.generate(), state)


def test_a_stateless_process_refuses_records_below_its_floor(tmp_path: Path) -> None:
    """With no state file, min_sequence is the floor: an older signed record is refused as
    replayed, the record at the floor is accepted, and the floor is saved as the state
    (a restart without the option still refuses the old record)."""
    key, events = PointerKey.generate(), _Counted()
    state = tmp_path / "state.json"
    trust = PointerTrust("ranking", key.ring, PointerStateFile(state), events, min_sequence=7)
    assert trust.current is None
    assert trust.high_water == 7
    assert trust.admit(_value(key, "sv-old", 6), 20) is None
    assert events.refusals == ["replayed"]
    restarted = _trust(key, state)
    assert restarted.admit(_value(key, "sv-old", 6), 20) is None
    accepted = restarted.admit(_value(key, "sv-now", 7), 21)
    assert accepted is not None
    assert accepted.serving_version == "sv-now"


def test_a_floor_above_the_saved_record_replaces_it(tmp_path: Path) -> None:
    """A saved record below a floor set later is not restored nor accepted again; a
    floor at or below the saved sequence changes nothing."""
    key = PointerKey.generate()
    state = tmp_path / "state.json"
    old = _value(key, "sv-a", 5)
    assert _trust(key, state).admit(old, 10) is not None
    same = PointerTrust("ranking", key.ring, PointerStateFile(state), _Counted(), min_sequence=5)
    assert same.current is not None
    assert same.current.serving_version == "sv-a"
    raised = PointerTrust("ranking", key.ring, PointerStateFile(state), _Counted(), min_sequence=8)
    assert raised.current is None
    assert raised.admit(old, 10) is None


def test_an_older_revision_read_late_is_ignored_not_counted(tmp_path: Path) -> None:
    """read_current admitted revision 12; the watch then delivers revision 11 with a lower
    sequence: ordinary reordering, ignored with no refusal logged or counted. The same
    lower sequence at a newer revision is still a replay."""
    key, events = PointerKey.generate(), _Counted()
    trust = _trust(key, tmp_path / "state.json", events)
    assert trust.admit(_value(key, "sv-b", 6), 12) is not None
    with capture_logs() as logs:
        assert trust.admit(_value(key, "sv-a", 5), 11) is None
    assert events.refusals == []
    assert not [e for e in logs if e["event"] == "pointer_record_refused"]
    assert trust.current is not None
    assert trust.current.serving_version == "sv-b"
    assert trust.admit(_value(key, "sv-a", 5), 13) is None
    assert events.refusals == ["replayed"]


class _FullDisk(PointerStateFile):
    """A state file whose next `failures` saves fail as on a full disk."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures

    def save(self, record: AcceptedRecord) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        super().save(record)


def test_a_failed_save_moves_nothing_and_the_record_is_taken_on_retry(tmp_path: Path) -> None:
    """When the state file cannot be written the record is not accepted (logged, counted,
    PointerStateSaveError): the high-water mark and the record served stay; offered
    again once the disk has room, it is accepted and saved."""
    key, events = PointerKey.generate(), _Counted()
    state = _FullDisk(tmp_path / "state.json", failures=0)
    trust = PointerTrust("ranking", key.ring, state, events)
    assert trust.admit(_value(key, "sv-a", 5), 10) is not None
    state.failures = 1
    new = _value(key, "sv-b", 6)
    with capture_logs() as logs, pytest.raises(PointerStateSaveError):
        trust.admit(new, 11)
    assert [e["event"] for e in logs] == ["pointer_state_save_failed"]
    assert events.saves_failed == 1
    assert trust.high_water == 5
    assert trust.current is not None
    assert trust.current.serving_version == "sv-a"
    again = trust.admit(new, 11)
    assert again is not None
    assert again.serving_version == "sv-b"
    assert _trust(key, tmp_path / "state.json").high_water == 6
