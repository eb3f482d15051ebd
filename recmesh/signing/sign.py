"""Signs serving pointer records (the control plane holds the only private key)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.signing.canonical import canonical_pointer_bytes
from recmesh.signing.keys import key_id


class PointerSigner:
    """Fills in a record's signature with one private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self._key_id = key_id(private_key.public_key())

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, pointer: records_pb2.ServingPointer) -> records_pb2.ServingPointer:
        """A copy of the record with its signature over its canonical bytes."""
        signed = records_pb2.ServingPointer()
        signed.CopyFrom(pointer)
        signed.ClearField("signature")
        signed.signature.key_id = self._key_id
        signed.signature.ed25519 = self._key.sign(canonical_pointer_bytes(signed))
        return signed
