"""What lies under the audit prefix, sorted into entries, the head, and findings.

Only the control plane writes there: `audit/entries/{seq:012d}` and `audit/head`.
Anything else under the prefix (a foreign key, an entry key that is not twelve
digits, a head that does not parse) was written by someone else, and
VerifyAuditLog names it as a finding instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from control_plane.audit_chain import AuditHead, StoredEntry
from control_plane.store.codec import decode
from control_plane.store.errors import CorruptRecordError
from control_plane.store.kv_types import StoredValue
from recmesh.api.controlplane.v1 import records_pb2

_SEQUENCE = re.compile(r"^[0-9]{12}$")


@dataclass(frozen=True)
class AuditScan:
    """`entries` in key order; `head` None when absent or malformed; `findings` one sentence
    per key that is not the control plane's (the malformed head included), in key order."""

    entries: tuple[StoredEntry, ...]
    head: AuditHead | None
    findings: tuple[str, ...]


def scan_audit(
    stored: Sequence[StoredValue], entries_prefix: str, head_key: str
) -> AuditScan:
    """Sorts the values read under the audit prefix (in key order)."""
    entries: list[StoredEntry] = []
    findings: list[str] = []
    head: AuditHead | None = None
    for value in stored:
        if value.key == head_key:
            try:
                head = AuditHead.from_json_bytes(value.value)
            except ValueError as exc:
                findings.append(f"the audit head {value.key} is malformed ({exc})")
            continue
        suffix = value.key.removeprefix(entries_prefix)
        if suffix == value.key:
            findings.append(
                f"foreign key {value.key} under the audit prefix (neither an entry nor the "
                "head; written outside the control plane)"
            )
        elif not _SEQUENCE.match(suffix):
            findings.append(
                f"malformed entry key {value.key} (not entries/ and twelve digits; written "
                "outside the control plane)"
            )
        else:
            entries.append(StoredEntry(int(suffix), _entry(value)))
    return AuditScan(tuple(entries), head, tuple(findings))


def _entry(stored: StoredValue) -> records_pb2.AuditEntry | None:
    try:
        entry: records_pb2.AuditEntry = decode(stored, records_pb2.AuditEntry)
    except CorruptRecordError:
        return None
    return entry
