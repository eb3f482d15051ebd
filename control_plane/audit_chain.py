"""The audit log's hash chain: canonical form, sealing, verification.

Each entry's hash is the hex sha256 of its canonical form: a JSON object of
every field except `hash` (sequence, actor, action, subject, details, at as
RFC 3339, prev_hash), keys sorted, no whitespace, UTF-8. `prev_hash` is the
hash of the entry before it ("" for the first), so editing an entry breaks
its own hash and rewriting that hash breaks the next entry's link. The head
key records the last sequence and hash, so deleting the last entry shows too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from recmesh.api.controlplane.v1 import records_pb2

GENESIS_HASH = ""


def canonical_bytes(entry: records_pb2.AuditEntry) -> bytes:
    body = {
        "sequence": entry.sequence,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "details": dict(sorted(entry.details.items())),
        "at": entry.at.ToJsonString(),
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: records_pb2.AuditEntry) -> str:
    return hashlib.sha256(canonical_bytes(entry)).hexdigest()


def seal(entry: records_pb2.AuditEntry) -> records_pb2.AuditEntry:
    """A copy of entry with its hash filled in."""
    sealed = records_pb2.AuditEntry()
    sealed.CopyFrom(entry)
    sealed.hash = entry_hash(entry)
    return sealed


@dataclass(frozen=True)
class AuditHead:
    """The last entry's sequence and hash (sequence 0: the log is empty)."""

    sequence: int
    hash: str

    def to_json_bytes(self) -> bytes:
        return json.dumps({"sequence": self.sequence, "hash": self.hash}, sort_keys=True).encode()

    @classmethod
    def from_json_bytes(cls, data: bytes) -> AuditHead:
        """Raises ValueError when data is not a head."""
        try:
            body = json.loads(data)
            return cls(sequence=int(body["sequence"]), hash=str(body["hash"]))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not an audit head: {exc!r}") from exc


EMPTY_HEAD = AuditHead(0, GENESIS_HASH)


@dataclass(frozen=True)
class StoredEntry:
    """An entry as found under its key: the key's sequence and the decoded entry
    (None when the value is not an AuditEntry)."""

    key_sequence: int
    entry: records_pb2.AuditEntry | None


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    broken_sequence: int = 0
    problem: str = ""


def verify_chain(stored: Sequence[StoredEntry], head: AuditHead | None) -> ChainReport:
    """Recomputes the chain over entries in key order; names the first broken sequence.

    An edited entry fails its own hash; an entry edited and re-hashed fails the
    next entry's link; a deleted entry leaves a gap; a deleted last entry leaves
    the head pointing past the end.
    """
    count = len(stored)
    previous = GENESIS_HASH
    expected = 1
    for item in stored:
        sequence = item.key_sequence
        if sequence != expected:
            return _broken(
                count,
                expected,
                f"entry {expected} is missing (deleted?): the log goes from "
                f"{expected - 1} to {sequence}",
            )
        entry = item.entry
        if entry is None:
            return _broken(count, sequence, f"entry {sequence} is not an AuditEntry (edited?)")
        if entry.sequence != sequence:
            return _broken(
                count, sequence, f"entry {sequence} claims sequence {entry.sequence} (edited?)"
            )
        actual = entry_hash(entry)
        if actual != entry.hash:
            return _broken(
                count,
                sequence,
                f"entry {sequence} was edited: its content hashes to {actual[:16]}..., "
                f"but it was sealed as {entry.hash[:16]}...",
            )
        if entry.prev_hash != previous:
            return _broken(
                count,
                sequence - 1,
                f"entry {sequence - 1} was edited and re-hashed (or entry {sequence}'s link "
                f"was): entry {sequence} links to {entry.prev_hash[:16]}..., "
                f"entry {sequence - 1} hashes to {previous[:16]}...",
            )
        previous = entry.hash
        expected += 1
    last = expected - 1
    if head is None:
        if count:
            return _broken(count, last, "the audit head is missing (deleted?)")
        return ChainReport(ok=True, entries=0)
    if head.sequence > last:
        return _broken(
            count,
            last + 1,
            f"entry {last + 1} is missing (deleted?): the head says the log "
            f"ends at {head.sequence}, the last entry found is {last}",
        )
    if head.sequence < last:
        return _broken(
            count,
            head.sequence + 1,
            f"entry {head.sequence + 1} is not covered by the head "
            f"(the head says the log ends at {head.sequence})",
        )
    if head.hash != previous:
        return _broken(
            count, last, f"entry {last} does not match the head's hash (edited and re-hashed?)"
        )
    return ChainReport(ok=True, entries=count)


def _broken(count: int, sequence: int, problem: str) -> ChainReport:
    return ChainReport(ok=False, entries=count, broken_sequence=sequence, problem=problem)
