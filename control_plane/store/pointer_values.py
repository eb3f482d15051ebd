"""The serving pointer as the control plane reads it back: a record it signed, or damage.

etcd may lie: the value at the pointer key (or under the history and records
prefixes) may have been written behind the control plane. A value is trusted only
when it parses as a ServingPointer and carries a signature by a key the control
plane trusts (its own, plus old keys kept during a rotation). Anything else is a
`DamagedRecord` naming the key and the problem: reported, never served, never a
rollback target, never copied into the history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from control_plane.store.errors import CorruptRecordError
from control_plane.store.kv_types import StoredValue
from recmesh.controlplane.v1 import records_pb2
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


@dataclass(frozen=True)
class PointerValue:
    """What the pointer key holds: a verified record (its revision filled in), or the
    damage found there; both None when the key does not exist."""

    pointer: records_pb2.ServingPointer | None
    damaged: records_pb2.DamagedRecord | None
    #: The key's mod_revision (0 when it does not exist).
    mod_revision: int

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


def trusted_records(
    stored: Iterable[StoredValue], ring: PublicKeyRing
) -> tuple[list[records_pb2.ServingPointer], list[records_pb2.DamagedRecord]]:
    """The values that verify (revision: their key's mod_revision) and the damage of the
    others, in the order given."""
    good: list[records_pb2.ServingPointer] = []
    bad: list[records_pb2.DamagedRecord] = []
    for value in stored:
        try:
            good.append(trusted_pointer(value, ring))
        except DamagedPointerError as exc:
            bad.append(exc.damaged)
    return good, bad
