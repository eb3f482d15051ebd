"""Which pointer records a serving process follows: etcd is a transport that may lie.

A record is accepted only when it parses, is signed by one of the configured public
keys (`--pointer-public-key`, never read from etcd) and its sequence number is above
the highest this process accepted before, across its own restarts (the local state
file). The same record again (same sequence, same bytes) is accepted as it is; any
other record at or below the high-water mark, read at a newer etcd revision than
the accepted one, is a replay. A refused record changes nothing: the process keeps
serving what it serves, logs `pointer_record_refused` with the reason, counts it
(`PointerTrustEvents`) and stays healthy. This is TUF's rule that a client never
accepts a version lower than one it already trusts.

A record at an older etcd revision than the accepted one, and not above it in
sequence, is a stale read (`read_current` got revision R2 before the watch delivered
R1): it is ignored without a refusal. A process with no state file trusts the first
signed record at or above its floor (`--min-pointer-sequence`, saved as its state).

The state file is written before anything in memory moves: when the save fails the
record is not accepted (logged as `pointer_state_save_failed`, counted) and
`PointerStateSaveError` tells the caller to offer it again later.
"""

from __future__ import annotations

from typing import Protocol

import structlog

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.pointer_codec import PointerFormatError, decode_pointer
from recmesh.signing.canonical import canonical_pointer_bytes
from recmesh.signing.keys import PublicKeyRing
from recmesh.signing.verify import UntrustedPointerError, verify_pointer
from services.common.pointer_state import AcceptedRecord, PointerStateError, PointerStateFile

log = structlog.get_logger("recmesh.pointer_trust")

#: Refusal reasons besides recmesh.signing.verify's (unsigned, unknown_key, bad_signature).
MALFORMED = "malformed"
REPLAYED = "replayed"


class PointerStateSaveError(Exception):
    """A record passed every check but the state file could not be written: nothing
    moved, the same record is to be offered again (the next delivery, a reconnect)."""


class PointerTrustEvents(Protocol):
    def accepted(self, sequence: int) -> None: ...

    def refused(self, reason: str) -> None: ...

    def save_failed(self) -> None: ...

    def revision_regressed(self, stage: str) -> None:
        """A pointer value was dropped because its etcd revision is below one already
        seen (etcd restored from a backup); stage names where (watch, registry)."""
        ...


class PointerTrust:
    """Admits pointer records in the order read; remembers the last one accepted."""

    def __init__(
        self,
        component: str,
        ring: PublicKeyRing,
        state: PointerStateFile,
        events: PointerTrustEvents,
        min_sequence: int = 0,
    ) -> None:
        """Raises PointerStateError when the state file is unreadable, or when it must
        take the floor min_sequence and cannot be written."""
        self._component = component
        self._ring = ring
        self._state = state
        self._events = events
        self._accepted = state.load()
        self._current: records_pb2.ServingPointer | None = None
        self._last_refused_revision = -1
        if min_sequence > (0 if self._accepted is None else self._accepted.sequence):
            self._accepted = self._set_floor(min_sequence)
        elif self._accepted is not None and self._accepted.stored is not None:
            self._current = self._restore(self._accepted)

    @property
    def current(self) -> records_pb2.ServingPointer | None:
        """The last record accepted (restored from the state file at start, with
        revision 0 there: its etcd revision is not known to be current)."""
        return self._current

    @property
    def high_water(self) -> int:
        return 0 if self._accepted is None else self._accepted.sequence

    def note_revision_regressed(self, stage: str, revision: int, seen: int) -> None:
        """Logs and counts a value dropped for its etcd revision (see PointerTrustEvents)."""
        self._events.revision_regressed(stage)
        log.warning(
            "pointer_revision_regressed",
            component=self._component,
            stage=stage,
            revision=revision,
            seen_revision=seen,
            detail="etcd holds an older revision than one seen here (restored from a "
            "backup?): the value is not followed",
        )

    def admit(self, value: bytes, mod_revision: int) -> records_pb2.ServingPointer | None:
        """The record to follow, or None when it is refused (logged and counted once per
        revision) or a stale read (ignored). Raises PointerStateSaveError when it would
        be accepted but the state file cannot be written."""
        try:
            pointer = decode_pointer(value, mod_revision)
            verify_pointer(pointer, self._ring)
        except PointerFormatError as exc:
            self._refuse(mod_revision, MALFORMED, str(exc))
            return None
        except UntrustedPointerError as exc:
            self._refuse(mod_revision, exc.reason, str(exc))
            return None
        accepted = self._accepted
        if accepted is not None and accepted.stored is None:
            if pointer.sequence < accepted.sequence:
                self._refuse(
                    mod_revision,
                    REPLAYED,
                    f"record sequence {pointer.sequence} ({pointer.serving_version}) is below "
                    f"this process's floor, {accepted.sequence} (--min-pointer-sequence): an "
                    "older record written back, not served",
                    version=pointer.serving_version,
                )
                return None
        elif accepted is not None and pointer.sequence <= accepted.sequence:
            if pointer.sequence == accepted.sequence and self._same_record(pointer, accepted):
                self._current = pointer
                return pointer
            if mod_revision < accepted.revision:
                log.debug(
                    "pointer_record_stale",
                    component=self._component,
                    revision=mod_revision,
                    accepted_revision=accepted.revision,
                )
                return None
            self._refuse(
                mod_revision,
                REPLAYED,
                f"record sequence {pointer.sequence} ({pointer.serving_version}) is not above "
                f"the highest accepted here, {accepted.sequence}: an older record written "
                "back, not served",
                version=pointer.serving_version,
            )
            return None
        record = AcceptedRecord(value, pointer.sequence, mod_revision)
        try:
            self._state.save(record)
        except OSError as exc:
            self._events.save_failed()
            log.error(
                "pointer_state_save_failed",
                component=self._component,
                path=str(self._state.path),
                error=str(exc),
                version=pointer.serving_version,
                sequence=pointer.sequence,
                serving=None if self._current is None else self._current.serving_version,
            )
            raise PointerStateSaveError(f"{self._state.path}: {exc}") from exc
        self._accepted = record
        self._current = pointer
        self._events.accepted(pointer.sequence)
        log.info(
            "pointer_record_accepted",
            component=self._component,
            version=pointer.serving_version,
            sequence=pointer.sequence,
            revision=mod_revision,
            key_id=pointer.signature.key_id,
        )
        return pointer

    def _refuse(self, revision: int, reason: str, detail: str, version: str | None = None) -> None:
        if revision == self._last_refused_revision:
            return
        self._last_refused_revision = revision
        self._events.refused(reason)
        log.error(
            "pointer_record_refused",
            component=self._component,
            revision=revision,
            reason=reason,
            detail=detail,
            version=version,
            serving=None if self._current is None else self._current.serving_version,
            high_water=self.high_water,
        )

    def _set_floor(self, sequence: int) -> AcceptedRecord:
        floor = AcceptedRecord(None, sequence, 0)
        try:
            self._state.save(floor)
        except OSError as exc:
            raise PointerStateError(
                f"{self._state.path}: cannot save the floor --min-pointer-sequence "
                f"{sequence}: {exc}"
            ) from exc
        log.info(
            "pointer_floor_set",
            component=self._component,
            min_sequence=sequence,
            path=str(self._state.path),
        )
        return floor

    def _same_record(self, pointer: records_pb2.ServingPointer, accepted: AcceptedRecord) -> bool:
        if accepted.stored is None:
            return False
        try:
            before = decode_pointer(accepted.stored, accepted.revision)
        except PointerFormatError:
            return False
        return canonical_pointer_bytes(before) == canonical_pointer_bytes(pointer)

    def _restore(self, accepted: AcceptedRecord) -> records_pb2.ServingPointer | None:
        """The saved record if it still verifies; its sequence stays the high-water mark
        either way (a key removed from the ring does not lower it)."""
        assert accepted.stored is not None
        try:
            pointer = decode_pointer(accepted.stored, 0)
            verify_pointer(pointer, self._ring)
        except (PointerFormatError, UntrustedPointerError) as exc:
            log.error(
                "pointer_state_unverified",
                component=self._component,
                path=str(self._state.path),
                error=str(exc),
                high_water=accepted.sequence,
            )
            return None
        log.info(
            "pointer_record_restored",
            component=self._component,
            version=pointer.serving_version,
            sequence=pointer.sequence,
            path=str(self._state.path),
        )
        return pointer
