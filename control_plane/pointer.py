"""The serving pointer outside promotions and rollbacks: its first value, reads, the feed.

`initialize_pointer` sets the very first serving version (the baseline that
`recmesh up` registers); it writes only when no pointer was ever signed (no pointer
key, nothing under `serving/records/`), so it is safe to call on every start, and
leaves a damaged value (written behind the control plane, or the key deleted) as it
is, reported. `PointerFeed` answers GetPointer (the record, or its damage and the
last signed record) and sends the current value and then every verified change, for
services that follow the pointer through the control plane.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog

from control_plane.audit_log import AuditDraft
from control_plane.clock import Clock, timestamp
from control_plane.pointer_writer import PointerWriter
from control_plane.store.errors import ConflictError
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.records import RecordReader
from control_plane.store.txn import KeyAbsent, NothingCreatedAfter
from control_plane.validation import require_version_id
from recmesh.api.controlplane.v1 import control_plane_pb2, records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import NotFoundError

log = structlog.get_logger("recmesh.control_plane.pointer")


@dataclass(frozen=True)
class PointerInit:
    #: The pointer now; None when the stored value is damaged (`damaged` says why).
    pointer: records_pb2.ServingPointer | None
    #: False when a pointer existed already (it is returned unchanged).
    created: bool
    damaged: records_pb2.DamagedRecord | None = None


async def initialize_pointer(
    keys: KeySchema,
    records: RecordReader,
    writer: PointerWriter,
    clock: Clock,
    version_id: str,
    actor: str,
) -> PointerInit:
    """Points serving at a registered version if, and only if, no pointer was ever signed.
    A damaged value, or a pointer key deleted after a record was signed, is left as it is
    and reported (`recmesh rollback --to` repairs it): signing a fresh baseline then would
    be a downgrade that no Promote decided."""
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
        signed = await writer.move(
            draft,
            pointer,
            replaces=None,
            replaces_revision=0,
            guards=[
                KeyAbsent(keys.pointer),
                NothingCreatedAfter(keys.pointer_records_prefix, 0),
            ],
        )
    except ConflictError:
        current = await records.pointer_value()
        if current.damaged is not None:
            log.error(
                "serving_pointer_damaged", key=current.damaged.key, problem=current.damaged.problem
            )
            return PointerInit(None, created=False, damaged=current.damaged)
        if current.pointer is None:
            raise
        return PointerInit(current.pointer, created=False)
    return PointerInit(signed, created=True)


class PointerFeed:
    def __init__(self, kv: EtcdKV, keys: KeySchema, records: RecordReader) -> None:
        self._kv = kv
        self._keys = keys
        self._records = records

    async def current(self) -> control_plane_pb2.GetPointerResponse:
        """The verified pointer; when the stored value is damaged, the damage and the last
        signed record (what serving keeps answering with)."""
        history = await self._records.pointer_history()
        if history.damaged is not None:
            last = history.latest_signed or records_pb2.ServingPointer()
            return control_plane_pb2.GetPointerResponse(pointer=last, damaged=history.damaged)
        if history.current is None:
            raise NotFoundError("the serving pointer is unset (`recmesh up` initialises it)")
        return control_plane_pb2.GetPointerResponse(pointer=history.current)

    async def follow(self) -> AsyncIterator[records_pb2.ServingPointer]:
        """The pointer now (if set and verified), then every new verified value, in
        revision order, until the caller stops iterating. Damaged values are skipped."""
        current, revision = await self._records.pointer_read()
        if current.pointer is not None:
            yield current.pointer
        async for stored in self._kv.watch(self._keys.pointer, revision + 1):
            # Read again with the newest signed records (a genuine older record written
            # back is damage); a value already replaced is skipped: its successor's event
            # follows.
            value = await self._records.pointer_value()
            if value.mod_revision != stored.mod_revision:
                continue
            if value.pointer is not None:
                yield value.pointer
            elif value.damaged is not None:
                log.error(
                    "serving_pointer_damaged", key=value.damaged.key, problem=value.damaged.problem
                )
