"""What a guarded commit checks and writes.

A commit applies all its puts at one etcd revision if, and only if, every
guard holds at that revision. When it does not apply, the store reports which
guards failed, so callers can tell "the pointer moved" from "the audit head
moved" without another read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from control_plane.store.kv_types import StoredValue


@dataclass(frozen=True)
class KeyAbsent:
    """Holds while the key does not exist (immutable records are created under it)."""

    key: str

    def holds(self, found: Sequence[StoredValue]) -> bool:
        return not found


@dataclass(frozen=True)
class KeyAt:
    """Holds while the key's mod_revision is `mod_revision` (0: the key does not exist)."""

    key: str
    mod_revision: int

    def holds(self, found: Sequence[StoredValue]) -> bool:
        current = found[0].mod_revision if found else 0
        return current == self.mod_revision


@dataclass(frozen=True)
class NothingCreatedAfter:
    """Holds while no key under `key` (a prefix) was created after `revision`."""

    key: str
    revision: int

    def holds(self, found: Sequence[StoredValue]) -> bool:
        return all(value.create_revision <= self.revision for value in found)


Guard = KeyAbsent | KeyAt | NothingCreatedAfter


@dataclass(frozen=True)
class Put:
    key: str
    value: bytes
