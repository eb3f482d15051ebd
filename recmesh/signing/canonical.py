"""The canonical bytes of a serving pointer record: what the control plane signs.

A domain line, then a JSON object of every stored field of the record except the
signature: `audit_entry_hash`, `evaluation_sha256`, `experiment_id`,
`manifest_sha256`, `reason`, `replaces_revision`, `sequence`, `serving_version`,
`set_at` (RFC 3339, "" when unset) and `set_by`, and `rollout` (an object of every
field of the Rollout, the mode as its number, so a value this build has no name for
still signs, and verifies or fails as any other) only when the record names one, so a
record without a rollout signs exactly as before; keys sorted, no whitespace, UTF-8.
The proto JSON the record is stored as is not canonical (field order and number
formats are the library's), so it is never what is signed.
"""

from __future__ import annotations

import json

from recmesh.api.controlplane.v1 import records_pb2

DOMAIN = b"recmesh serving pointer record v1\n"


def canonical_pointer_bytes(pointer: records_pb2.ServingPointer) -> bytes:
    body: dict[str, object] = {
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
    if pointer.HasField("rollout"):
        body["rollout"] = _rollout_body(pointer.rollout)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return DOMAIN + text.encode()


def _rollout_body(rollout: records_pb2.Rollout) -> dict[str, object]:
    return {
        "challenger_manifest_sha256": rollout.challenger_manifest_sha256,
        "challenger_version": rollout.challenger_version,
        "experiment_id": rollout.experiment_id,
        "latency_threshold_ms": rollout.latency_threshold_ms,
        "mode": int(rollout.mode),
        "rollout_id": rollout.rollout_id,
        "share": rollout.share,
        "stage": rollout.stage,
    }
