"""The canonical bytes of a serving pointer record: what the control plane signs.

A domain line, then a JSON object of every stored field of the record except the
signature: `audit_entry_hash`, `evaluation_sha256`, `experiment_id`,
`manifest_sha256`, `reason`, `replaces_revision`, `sequence`, `serving_version`,
`set_at` (RFC 3339, "" when unset) and `set_by`; keys sorted, no whitespace, UTF-8.
The proto JSON the record is stored as is not canonical (field order and number
formats are the library's), so it is never what is signed.
"""

from __future__ import annotations

import json

from recmesh.api.controlplane.v1 import records_pb2

DOMAIN = b"recmesh serving pointer record v1\n"


def canonical_pointer_bytes(pointer: records_pb2.ServingPointer) -> bytes:
    body = {
        "audit_entry_hash": pointer.audit_entry_hash,
        "evaluation_sha256": pointer.evaluation_sha256,
        "experiment_id": pointer.experiment_id,
        "manifest_sha256": pointer.manifest_sha256,
        "reason": pointer.reason,
        "replaces_revision": pointer.replaces_revision,
        "sequence": pointer.sequence,
        "serving_version": pointer.serving_version,
        "set_at": pointer.set_at.ToJsonString() if pointer.HasField("set_at") else "",
        "set_by": pointer.set_by,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return DOMAIN + text.encode()
