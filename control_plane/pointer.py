"""The serving pointer outside promotions and rollbacks: its first value, reads, the feed.

`initialize_pointer` sets the very first serving version (the baseline that
`recmesh up` registers); it writes only when no pointer exists, so it is safe
to call on every start. `PointerFeed` sends the current value and then every
change, for services that follow the pointer through the control plane.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.store.errors import ConflictError
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.records import RecordReader, stored_pointer
from control_plane.store.txn import KeyAbsent, Put
from control_plane.validation import require_version_id
from recmesh.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.pointer_codec import encode_pointer
from recmesh.rpc.errors import NotFoundError


@dataclass(frozen=True)
class PointerInit:
    pointer: records_pb2.ServingPointer
    #: False when a pointer existed already (it is returned unchanged).
    created: bool


async def initialize_pointer(
    keys: KeySchema,
    records: RecordReader,
    audit: AuditLog,
    clock: Clock,
    version_id: str,
    actor: str,
) -> PointerInit:
    """Points serving at a registered version if, and only if, no pointer exists yet."""
    require_version_id(version_id, "version_id")
    model = await records.model(version_id)
    pointer = records_pb2.ServingPointer(
        serving_version=model.version_id,
        manifest_sha256=model.manifest_sha256,
        set_by=actor,
        set_at=timestamp(clock),
        reason="initial serving version",
    )
    draft = AuditDraft(
        actor=actor,
        action="init_pointer",
        subject=model.version_id,
        details={"manifest_sha256": model.manifest_sha256},
    )
    try:
        committed = await audit.commit(
            draft, [KeyAbsent(keys.pointer)], [Put(keys.pointer, encode_pointer(pointer))]
        )
    except ConflictError:
        current = await records.pointer()
        if current is None:
            raise
        return PointerInit(current, created=False)
    pointer.revision = committed.revision
    return PointerInit(pointer, created=True)


class PointerFeed:
    def __init__(self, kv: EtcdKV, keys: KeySchema, records: RecordReader) -> None:
        self._kv = kv
        self._keys = keys
        self._records = records

    async def current(self) -> records_pb2.ServingPointer:
        pointer = await self._records.pointer()
        if pointer is None:
            raise NotFoundError("the serving pointer is unset (`recmesh up` initialises it)")
        return pointer

    async def follow(self) -> AsyncIterator[records_pb2.ServingPointer]:
        """The pointer now (if set), then every new value, in revision order, until the
        caller stops iterating."""
        reading = await self._kv.read(keys=[self._keys.pointer])
        current = self._records.pointer_reading(reading)
        if current is not None:
            yield current
        async for stored in self._kv.watch(self._keys.pointer, reading.revision + 1):
            yield stored_pointer(stored)
