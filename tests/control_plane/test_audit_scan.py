"""What lies under the audit prefix is sorted into entries, the head, and named findings."""

from __future__ import annotations

from control_plane.audit_chain import AuditHead
from control_plane.audit_scan import scan_audit
from control_plane.store.kv_types import StoredValue

PREFIX = "/p/audit/"
ENTRIES = PREFIX + "entries/"
HEAD = PREFIX + "head"


def _value(key: str, value: bytes) -> StoredValue:
    return StoredValue(key, value, create_revision=1, mod_revision=1)


def test_entries_and_head_are_sorted_out() -> None:
    """Twelve-digit entry keys become entries (undecodable ones None); the head parses."""
    scan = scan_audit(
        [
            _value(ENTRIES + "000000000001", b"not json"),
            _value(HEAD, AuditHead(1, "ab").to_json_bytes()),
        ],
        ENTRIES,
        HEAD,
    )
    assert [(e.key_sequence, e.entry) for e in scan.entries] == [(1, None)]
    assert scan.head == AuditHead(1, "ab")
    assert scan.findings == ()


def test_foreign_and_malformed_keys_are_findings() -> None:
    """A key beside entries/ and head, an entry key that is not twelve digits, and a head
    that does not parse are each named, in key order; none of them becomes an entry."""
    scan = scan_audit(
        [
            _value(ENTRIES + "7", b"{}"),
            _value(ENTRIES + "abc", b"{}"),
            _value(HEAD, b"[1]"),
            _value(PREFIX + "zz", b"x"),
        ],
        ENTRIES,
        HEAD,
    )
    assert scan.entries == ()
    assert scan.head is None
    assert [finding.split(" (")[0] for finding in scan.findings] == [
        f"malformed entry key {ENTRIES}7",
        f"malformed entry key {ENTRIES}abc",
        f"the audit head {HEAD} is malformed",
        f"foreign key {PREFIX}zz under the audit prefix",
    ]
