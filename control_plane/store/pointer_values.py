"""The serving pointer as the control plane reads it back: a record it signed, or damage.

etcd may lie: the value at the pointer key (or under the history and records
prefixes) may have been written behind the control plane. A value is trusted only
when it parses as a ServingPointer and carries a signature by a key the control
plane trusts (its own, plus old keys kept during a rotation). Anything else is a
`DamagedRecord` naming the key and the problem: reported, never served, never a
rollback target, never copied into the history.

A genuine record is not enough for the pointer key: the control plane also keeps every
record it signed under `serving/records/{sequence}`, so the pointer must be the newest
of them. A genuine older record written back (a replay) and a deleted pointer key, once
a record was signed, are damage too ("replayed", "missing"). Only the last few keys under
`serving/records/` are read for this (`NEWEST_RECORDS`), never all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from control_plane.store.errors import CorruptRecordError
from control_plane.store.kv_types import StoredValue
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.pointer_codec import PointerFormatError, decode_pointer
from recmesh.signing.keys import PublicKeyRing
from recmesh.signing.verify import UntrustedPointerError, verify_pointer


class DamagedPointerError(CorruptRecordError):
    """The pointer key holds a value that does not parse or does not verify."""

    def __init__(self, damaged: records_pb2.DamagedRecord, mod_revision: int) -> None:
        super().__init__(
            f"the serving pointer is damaged: {damaged.key}: {damaged.problem}; serving keeps "
            "its last verified record; repair with `recmesh rollback --to VERSION`"
        )
        self.damaged = damaged
        self.mod_revision = mod_revision


#: How many of the last keys under `serving/records/` a read of the pointer looks at to
#: find the newest signed record: keys there that do not verify (written behind the
#: control plane) are passed over, up to this many.
NEWEST_RECORDS = 4


@dataclass(frozen=True)
class PointerValue:
    """What the pointer key holds: a verified record (its revision filled in), or the
    damage found there; both None when the key does not exist and no record was ever
    signed."""

    pointer: records_pb2.ServingPointer | None
    damaged: records_pb2.DamagedRecord | None
    #: The key's mod_revision (0 when it does not exist).
    mod_revision: int
    #: The newest signed record under `serving/records/` (None: none verifies), what
    #: serving holds when the pointer key was overwritten or deleted behind the control
    #: plane.
    latest_signed: records_pb2.ServingPointer | None = None

    def trusted(self) -> records_pb2.ServingPointer | None:
        """The verified record, None when unset; raises DamagedPointerError when damaged."""
        if self.damaged is not None:
            raise DamagedPointerError(self.damaged, self.mod_revision)
        return self.pointer


def pointer_value(stored: StoredValue | None, ring: PublicKeyRing) -> PointerValue:
    if stored is None:
        return PointerValue(None, None, 0)
    try:
        return PointerValue(trusted_pointer(stored, ring), None, stored.mod_revision)
    except DamagedPointerError as exc:
        return PointerValue(None, exc.damaged, stored.mod_revision)


def current_pointer(
    key: str,
    stored: StoredValue | None,
    newest_records: Sequence[StoredValue],
    ring: PublicKeyRing,
) -> PointerValue:
    """The pointer key's value (`stored`, None when absent) checked against the newest
    signed record among `newest_records` (the last keys under `serving/records/`, last
    first, read at the same revision): a genuine record older than it is "replayed", an
    absent key after a record was signed is "missing"."""
    latest = latest_record(newest_records, ring)
    value = pointer_value(stored, ring)
    problem = _stale(value.pointer, latest) if stored is not None else _missing(latest)
    if problem is None:
        return PointerValue(value.pointer, value.damaged, value.mod_revision, latest)
    damaged = records_pb2.DamagedRecord(key=key, problem=problem)
    return PointerValue(None, damaged, value.mod_revision, latest)


def latest_record(
    newest_first: Iterable[StoredValue], ring: PublicKeyRing
) -> records_pb2.ServingPointer | None:
    """The first value that verifies, its revision the key's mod_revision."""
    for stored in newest_first:
        found = pointer_value(stored, ring).pointer
        if found is not None:
            return found
    return None


def _stale(
    pointer: records_pb2.ServingPointer | None, latest: records_pb2.ServingPointer | None
) -> str | None:
    if pointer is None or latest is None:
        return None
    if pointer.sequence < latest.sequence or (
        pointer.sequence == latest.sequence and pointer.audit_entry_hash != latest.audit_entry_hash
    ):
        return (
            f"replayed: a genuine but superseded record ({pointer.serving_version}, sequence "
            f"{pointer.sequence}) was written back behind the control plane; the last signed "
            f"record is {latest.serving_version} (sequence {latest.sequence})"
        )
    return None


def _missing(latest: records_pb2.ServingPointer | None) -> str | None:
    if latest is None:
        return None
    return (
        "missing: the pointer key was deleted behind the control plane; the last signed "
        f"record is {latest.serving_version} (sequence {latest.sequence})"
    )


def trusted_pointer(stored: StoredValue, ring: PublicKeyRing) -> records_pb2.ServingPointer:
    """The verified record with its revision set to the key's mod_revision; raises
    DamagedPointerError naming the key and the problem."""
    try:
        pointer = decode_pointer(stored.value, stored.mod_revision)
        verify_pointer(pointer, ring)
    except (PointerFormatError, UntrustedPointerError) as exc:
        raise DamagedPointerError(
            records_pb2.DamagedRecord(key=stored.key, problem=str(exc)), stored.mod_revision
        ) from exc
    return pointer
