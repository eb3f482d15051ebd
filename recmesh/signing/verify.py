"""Checks that a serving pointer record was signed by a key the verifier trusts.

A record is trusted only when it carries a signature, names a key of the ring and
the signature verifies over its canonical bytes (`canonical.py`). Whether it is
newer than what a reader accepted before is the reader's check (serving keeps a
high-water mark, `services/common/pointer_trust.py`).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.signing.canonical import canonical_pointer_bytes
from recmesh.signing.keys import PublicKeyRing

#: Stable labels of why a record is not trusted (log field and metric label).
UNSIGNED = "unsigned"
UNKNOWN_KEY = "unknown_key"
BAD_SIGNATURE = "bad_signature"


class UntrustedPointerError(ValueError):
    """The record is not signed by a trusted key; `reason` is one of the labels above."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def verify_pointer(pointer: records_pb2.ServingPointer, ring: PublicKeyRing) -> str:
    """Returns the id of the key that signed the record; raises UntrustedPointerError."""
    if not pointer.HasField("signature") or not pointer.signature.ed25519:
        raise UntrustedPointerError(UNSIGNED, "the pointer record is not signed")
    signature = pointer.signature
    key = ring.find(signature.key_id)
    if key is None:
        raise UntrustedPointerError(
            UNKNOWN_KEY,
            f"the pointer record is signed by key {signature.key_id!r}, which is not "
            f"trusted here (trusted: {', '.join(ring.ids)})",
        )
    try:
        key.verify(signature.ed25519, canonical_pointer_bytes(pointer))
    except InvalidSignature as exc:
        raise UntrustedPointerError(
            BAD_SIGNATURE,
            f"the pointer record's signature does not verify with key {signature.key_id}",
        ) from exc
    return signature.key_id
