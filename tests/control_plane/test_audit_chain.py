"""The audit hash chain: canonical form, sealing, and what verification detects."""

from __future__ import annotations

import hashlib

from control_plane.audit_chain import (
    AuditHead,
    StoredEntry,
    canonical_bytes,
    entry_hash,
    seal,
    verify_chain,
)
from recmesh.api.controlplane.v1 import records_pb2


def _chain(length: int) -> list[records_pb2.AuditEntry]:
    entries = []
    previous = ""
    for sequence in range(1, length + 1):
        entry = records_pb2.AuditEntry(
            sequence=sequence,
            actor="alice",
            action="review",
            subject=f"exp-{sequence}",
            details={"verdict": "approve", "review_id": f"rv-{sequence}"},
            prev_hash=previous,
        )
        entry.at.FromSeconds(1_700_000_000 + sequence)
        sealed = seal(entry)
        entries.append(sealed)
        previous = sealed.hash
    return entries


def _stored(entries: list[records_pb2.AuditEntry]) -> list[StoredEntry]:
    return [StoredEntry(entry.sequence, entry) for entry in entries]


def _head(entries: list[records_pb2.AuditEntry]) -> AuditHead:
    return AuditHead(entries[-1].sequence, entries[-1].hash)


def test_hash_is_sha256_of_canonical_form_without_hash() -> None:
    """seal() fills hash with sha256 over the canonical JSON, which excludes the hash."""
    entry = _chain(1)[0]
    assert entry.hash == hashlib.sha256(canonical_bytes(entry)).hexdigest()
    assert b'"hash"' not in canonical_bytes(entry)
    assert canonical_bytes(entry).startswith(b'{"action":"review","actor":"alice","at":')


def test_canonical_form_ignores_map_insertion_order() -> None:
    """Two entries with the same details inserted in different orders hash alike."""
    one = records_pb2.AuditEntry(sequence=1, details={"a": "1", "b": "2"})
    two = records_pb2.AuditEntry(sequence=1, details={"b": "2", "a": "1"})
    assert entry_hash(one) == entry_hash(two)


def test_intact_chain_verifies() -> None:
    """An untouched chain with a matching head is ok and counts its entries."""
    entries = _chain(5)
    report = verify_chain(_stored(entries), _head(entries))
    assert report.ok
    assert report.entries == 5
    assert report.broken_sequence == 0


def test_empty_log_verifies() -> None:
    """No entries and no head is a valid, empty log."""
    assert verify_chain([], None).ok


def test_edited_entry_is_named() -> None:
    """Editing an entry's content without re-sealing breaks its own hash: it is named."""
    entries = _chain(5)
    entries[2].details["verdict"] = "reject"
    report = verify_chain(_stored(entries), _head(entries))
    assert not report.ok
    assert report.broken_sequence == 3
    assert "entry 3 was edited" in report.problem


def test_edited_and_resealed_entry_is_named() -> None:
    """Re-sealing an edited entry breaks the next entry's link; the edited one is named."""
    entries = _chain(5)
    entries[1].actor = "mallory"
    entries[1].CopyFrom(seal(entries[1]))
    report = verify_chain(_stored(entries), _head(entries))
    assert not report.ok
    assert report.broken_sequence == 2
    assert "entry 2 was edited and re-hashed" in report.problem


def test_deleted_entry_leaves_a_named_gap() -> None:
    """A deleted middle entry is reported as missing by its sequence."""
    entries = _chain(5)
    stored = [item for item in _stored(entries) if item.key_sequence != 3]
    report = verify_chain(stored, _head(entries))
    assert not report.ok
    assert report.broken_sequence == 3
    assert "entry 3 is missing" in report.problem


def test_deleted_last_entry_is_caught_by_the_head() -> None:
    """Deleting the newest entry leaves the head pointing past the end."""
    entries = _chain(5)
    report = verify_chain(_stored(entries[:-1]), _head(entries))
    assert not report.ok
    assert report.broken_sequence == 5


def test_undecodable_entry_is_named() -> None:
    """An entry whose value is not an AuditEntry at all is named."""
    entries = _chain(3)
    stored = _stored(entries)
    stored[1] = StoredEntry(2, None)
    report = verify_chain(stored, _head(entries))
    assert (report.ok, report.broken_sequence) == (False, 2)


def test_head_round_trips_through_json() -> None:
    """The head value written to etcd parses back to the same head."""
    head = AuditHead(7, "ab" * 32)
    assert AuditHead.from_json_bytes(head.to_json_bytes()) == head
