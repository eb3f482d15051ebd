"""The append-only audit log in etcd, written together with the change it records.

`commit` puts a state change's records, its audit entry and the new head in
one etcd transaction guarded by the head's mod_revision, so two writers can
never both extend the chain from the same entry. When only the head moved (an
unrelated change was audited first), it re-reads the head and tries again;
when a guard of the change itself failed, it raises ConflictError naming it
and the caller decides.

The head is derivable from the entries, so a head that does not parse (written
behind the control plane) is never fatal: the next commit first rebuilds it from
the last entry and appends an `audit_head_repaired` entry saying what it found.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from control_plane.audit_chain import EMPTY_HEAD, AuditHead, ChainReport, seal, verify_chain
from control_plane.audit_scan import scan_audit
from control_plane.clock import Clock, timestamp
from control_plane.store.codec import decode, encode
from control_plane.store.errors import ConflictError, CorruptRecordError
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.kv_types import StoredValue
from control_plane.store.txn import Guard, KeyAbsent, KeyAt, Put
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema

log = structlog.get_logger("recmesh.control_plane.audit_log")

#: The actor of entries the control plane writes on its own (a repair of the head).
REPAIR_ACTOR = "control-plane"


@dataclass(frozen=True)
class AuditDraft:
    """What an entry says; sequence, time and hashes are filled in when committed."""

    actor: str
    action: str
    subject: str
    details: Mapping[str, str] = field(default_factory=dict)


#: Puts that depend on the audit entry written with them.
EntryPuts = Callable[[records_pb2.AuditEntry], Sequence[Put]]


@dataclass(frozen=True)
class Committed:
    entry: records_pb2.AuditEntry
    revision: int


class AuditLog:
    def __init__(
        self,
        kv: EtcdKV,
        keys: KeySchema,
        clock: Clock,
        *,
        max_attempts: int = 200,
        rng: random.Random | None = None,
    ) -> None:
        self._kv = kv
        self._keys = keys
        self._clock = clock
        self._max_attempts = max_attempts
        self._rng = rng or random.Random()

    async def commit(
        self,
        draft: AuditDraft,
        guards: Sequence[Guard] = (),
        puts: Sequence[Put] = (),
        *,
        entry_puts: EntryPuts | None = None,
    ) -> Committed:
        """Applies puts and appends the entry in one transaction, if every guard holds.
        `entry_puts` adds puts that name the sealed entry (a signed pointer record); it is
        called again for each attempt, since each attempt seals its own entry.

        Raises ConflictError with the change's own failed guards (never the head's).
        """
        for attempt in range(self._max_attempts):
            stored_head = await self._kv.find(self._keys.audit_head)
            head = _head(stored_head)
            if head is None:
                assert stored_head is not None
                await self._repair_head(stored_head)
                continue
            entry = seal(
                records_pb2.AuditEntry(
                    sequence=head.sequence + 1,
                    actor=draft.actor,
                    action=draft.action,
                    subject=draft.subject,
                    details=dict(draft.details),
                    at=timestamp(self._clock),
                    prev_hash=head.hash,
                )
            )
            entry_key = self._keys.audit_entry(entry.sequence)
            head_guard = KeyAt(self._keys.audit_head, _mod_revision(stored_head))
            slot_guard = KeyAbsent(entry_key)
            try:
                revision = await self._kv.commit(
                    [*guards, head_guard, slot_guard],
                    [
                        *puts,
                        *(entry_puts(entry) if entry_puts is not None else ()),
                        Put(entry_key, encode(entry)),
                        Put(
                            self._keys.audit_head,
                            AuditHead(entry.sequence, entry.hash).to_json_bytes(),
                        ),
                    ],
                )
            except ConflictError as exc:
                own = [g for g in exc.failed if g not in (head_guard, slot_guard)]
                if own:
                    raise ConflictError(own) from exc
                if not exc.failed_on(head_guard.key):
                    raise CorruptRecordError(
                        f"audit entry {entry.sequence} already exists but the head says the "
                        f"log ends at {head.sequence}; run `recmesh audit --verify`"
                    ) from exc
                await asyncio.sleep(self._rng.uniform(0, 0.002 * min(attempt + 1, 10)))
                continue
            return Committed(entry, revision)
        raise ConflictError([], "the audit log is too busy: gave up appending; try again")

    async def _repair_head(self, stored_head: StoredValue) -> None:
        """Rebuilds a head that does not parse from the last entry (in key order) and
        appends `audit_head_repaired` naming what was found; guarded by the garbage's
        mod_revision, so of two repairers one wins and the other re-reads."""
        prefix = self._keys.audit_entries_prefix
        scan = scan_audit(await self._kv.list(prefix), prefix, self._keys.audit_head)
        last = scan.entries[-1] if scan.entries else None
        rebuilt = (
            EMPTY_HEAD
            if last is None
            else AuditHead(last.key_sequence, "" if last.entry is None else last.entry.hash)
        )
        found = stored_head.value[:200].decode("utf-8", errors="replace")
        entry = seal(
            records_pb2.AuditEntry(
                sequence=rebuilt.sequence + 1,
                actor=REPAIR_ACTOR,
                action="audit_head_repaired",
                subject=self._keys.audit_head,
                details={
                    "found": found,
                    "rebuilt_from_sequence": str(rebuilt.sequence),
                    "mod_revision": str(stored_head.mod_revision),
                },
                at=timestamp(self._clock),
                prev_hash=rebuilt.hash,
            )
        )
        entry_key = self._keys.audit_entry(entry.sequence)
        try:
            await self._kv.commit(
                [KeyAt(self._keys.audit_head, stored_head.mod_revision), KeyAbsent(entry_key)],
                [
                    Put(entry_key, encode(entry)),
                    Put(
                        self._keys.audit_head,
                        AuditHead(entry.sequence, entry.hash).to_json_bytes(),
                    ),
                ],
            )
        except ConflictError as exc:
            if exc.failed_on(self._keys.audit_head):
                return  # repaired (or rewritten) meanwhile: the caller reads the head again
            raise CorruptRecordError(
                f"the audit head {stored_head.key} does not parse and entry {entry.sequence} "
                "after the last entry found already exists; run `recmesh audit --verify`"
            ) from exc
        log.error(
            "audit_head_repaired",
            key=stored_head.key,
            found=found,
            rebuilt_from_sequence=rebuilt.sequence,
        )

    async def entries(self, after: int = 0, limit: int = 0) -> list[records_pb2.AuditEntry]:
        """Entries with sequence > after, in order; at most limit (0: all)."""
        stored = await self._kv.scan(
            self._keys.audit_entries_prefix,
            start=self._keys.audit_entry(after + 1),
            limit=limit,
        )
        return [decode(value, records_pb2.AuditEntry) for value in stored]

    async def verify(self) -> ChainReport:
        """The chain's report; a key under the audit prefix that the control plane did not
        write (a foreign key, a malformed entry key or head) makes it not ok, named."""
        prefix = self._keys.audit_prefix
        reading = await self._kv.read(prefixes=[prefix])
        scan = scan_audit(
            reading.under(prefix), self._keys.audit_entries_prefix, self._keys.audit_head
        )
        report = verify_chain(scan.entries, scan.head)
        if not scan.findings:
            return report
        if not report.ok and scan.head is not None:
            problems = (report.problem, *scan.findings)
        else:
            problems = scan.findings  # a malformed head is the cause, not a deleted one
        return ChainReport(
            ok=False,
            entries=report.entries,
            broken_sequence=report.broken_sequence if scan.head is not None else 0,
            problem="; ".join(problems),
        )


def _mod_revision(stored: StoredValue | None) -> int:
    return 0 if stored is None else stored.mod_revision


def _head(stored: StoredValue | None) -> AuditHead | None:
    """The head (empty when absent); None when the stored value does not parse."""
    if stored is None:
        return EMPTY_HEAD
    try:
        return AuditHead.from_json_bytes(stored.value)
    except ValueError:
        return None
