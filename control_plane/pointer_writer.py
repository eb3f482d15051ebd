"""Every move of the serving pointer goes through here: one signed record per move.

The record names what serves (version, manifest), why (experiment, evaluation), the
audit entry written with it (its sequence, which the audit chain makes strictly
increasing, and its hash) and the pointer revision it replaces, and is signed with
the control plane's Ed25519 key over its canonical bytes (`recmesh.signing`). One
etcd transaction puts the record at the pointer key and under `serving/records/`,
the replaced record (when it verified) into the history, the caller's own records,
the audit entry and the head, under the caller's guards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.store.txn import Guard, Put
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.pointer_codec import encode_pointer
from recmesh.signing.sign import PointerSigner


def record_sha256(stored_json: bytes) -> str:
    """The hex sha256 a signed record names another record by (its stored JSON)."""
    return hashlib.sha256(stored_json).hexdigest()


class PointerWriter:
    def __init__(self, keys: KeySchema, audit: AuditLog, signer: PointerSigner) -> None:
        self._keys = keys
        self._audit = audit
        self._signer = signer

    async def move(
        self,
        draft: AuditDraft,
        pointer: records_pb2.ServingPointer,
        *,
        replaces: records_pb2.ServingPointer | None,
        replaces_revision: int,
        guards: Sequence[Guard],
        puts: Sequence[Put] = (),
        evaluation_sha256: str = "",
    ) -> records_pb2.ServingPointer:
        """Commits the signed record (ConflictError from the caller's guards as AuditLog
        raises it); returns it with its revision. `replaces` is the verified record now
        at the key (kept in the history), None when the key is unset or damaged;
        `replaces_revision` is the key's mod_revision either way (0 when unset)."""
        keys = self._keys
        signed: list[records_pb2.ServingPointer] = []

        def record_puts(entry: records_pb2.AuditEntry) -> list[Put]:
            record = records_pb2.ServingPointer()
            record.CopyFrom(pointer)
            record.ClearField("revision")
            record.sequence = entry.sequence
            record.audit_entry_hash = entry.hash
            record.evaluation_sha256 = evaluation_sha256
            record.replaces_revision = replaces_revision
            record = self._signer.sign(record)
            signed[:] = [record]
            value = encode_pointer(record)
            return [Put(keys.pointer, value), Put(keys.pointer_record(entry.sequence), value)]

        history = (
            []
            if replaces is None
            else [Put(keys.pointer_history(replaces.revision), encode_pointer(replaces))]
        )
        committed = await self._audit.commit(
            draft, guards, [*history, *puts], entry_puts=record_puts
        )
        result = signed[0]
        result.revision = committed.revision
        return result
