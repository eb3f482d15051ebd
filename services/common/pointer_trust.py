"""Which pointer records a serving process follows: etcd is a transport that may lie.

A record is accepted only when it parses, is signed by one of the configured public
keys (`--pointer-public-key`, never read from etcd) and its sequence number is above
the highest this process accepted before, across its own restarts (the local state
file). The same record again (same sequence, same bytes) is accepted as it is; any
other record at or below the high-water mark is a replay. A refused record changes
nothing: the process keeps serving what it serves, logs `pointer_record_refused`
with the reason, counts it (`PointerTrustEvents`) and stays healthy. This is TUF's
rule that a client never accepts a version lower than one it already trusts.
"""

from __future__ import annotations

from typing import Protocol

import structlog

from recmesh.controlplane.v1 import records_pb2
from recmesh.etcd.pointer_codec import PointerFormatError, decode_pointer
from recmesh.signing.canonical import canonical_pointer_bytes
from recmesh.signing.keys import PublicKeyRing
from recmesh.signing.verify import UntrustedPointerError, verify_pointer
from services.common.pointer_state import AcceptedRecord, PointerStateFile

log = structlog.get_logger("recmesh.pointer_trust")

#: Refusal reasons besides recmesh.signing.verify's (unsigned, unknown_key, bad_signature).
MALFORMED = "malformed"
REPLAYED = "replayed"


class PointerTrustEvents(Protocol):
    def accepted(self, sequence: int) -> None: ...

    def refused(self, reason: str) -> None: ...


class PointerTrust:
    """Admits pointer records in the order read; remembers the last one accepted."""

    def __init__(
        self,
        component: str,
        ring: PublicKeyRing,
        state: PointerStateFile,
        events: PointerTrustEvents,
    ) -> None:
        """Raises PointerStateError when the state file is unreadable."""
        self._component = component
        self._ring = ring
        self._state = state
        self._events = events
        self._accepted = state.load()
        self._current: records_pb2.ServingPointer | None = None
        self._last_refused_revision = -1
        if self._accepted is not None:
            self._current = self._restore(self._accepted)

    @property
    def current(self) -> records_pb2.ServingPointer | None:
        """The last record accepted (restored from the state file at start, with
        revision 0 there: its etcd revision is not known to be current)."""
        return self._current

    @property
    def high_water(self) -> int:
        return 0 if self._accepted is None else self._accepted.sequence

    def admit(self, value: bytes, mod_revision: int) -> records_pb2.ServingPointer | None:
        """The record to follow, or None when it is refused (logged and counted once per
        revision)."""
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
        if accepted is not None and pointer.sequence <= accepted.sequence:
            if pointer.sequence == accepted.sequence and self._same_record(pointer, accepted):
                self._current = pointer
                return pointer
            self._refuse(
                mod_revision,
                REPLAYED,
                f"record sequence {pointer.sequence} ({pointer.serving_version}) is not above "
                f"the highest accepted here, {accepted.sequence}: an older record written "
                "back, not served",
                version=pointer.serving_version,
            )
            return None
        self._accepted = AcceptedRecord(value, pointer.sequence, mod_revision)
        self._state.save(self._accepted)
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

    def _refuse(
        self, revision: int, reason: str, detail: str, version: str | None = None
    ) -> None:
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

    def _same_record(self, pointer: records_pb2.ServingPointer, accepted: AcceptedRecord) -> bool:
        try:
            before = decode_pointer(accepted.stored, accepted.revision)
        except PointerFormatError:
            return False
        return canonical_pointer_bytes(before) == canonical_pointer_bytes(pointer)

    def _restore(self, accepted: AcceptedRecord) -> records_pb2.ServingPointer | None:
        """The saved record if it still verifies; its sequence stays the high-water mark
        either way (a key removed from the ring does not lower it)."""
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
