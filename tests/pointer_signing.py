"""Signed pointer records for tests that write the serving pointer straight into etcd.

A real Ed25519 key, made for the test run (or the control plane's own key file of a
test installation), signs records exactly as the control plane does
(`recmesh.signing.sign.PointerSigner`). Sequence numbers come from the wall clock in
microseconds, so every record a test writes outranks every earlier one, in this
process and across its serving processes' restarts; a record written this way also
outranks the control plane's later ones (its sequence numbers are audit sequences).
"""

from __future__ import annotations

import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.signing.keys import PublicKeyRing, load_private_key, write_public_key
from recmesh.signing.sign import PointerSigner


class PointerKey:
    """Signs test pointer records with one private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.signer = PointerSigner(private_key)
        self.ring = PublicKeyRing.of([private_key.public_key()])
        self._last_sequence = 0

    @classmethod
    def generate(cls) -> PointerKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_file(cls, path: Path) -> PointerKey:
        """The key of a test installation (`recmesh up`'s pointer-signing.key)."""
        return cls(load_private_key(path))

    def next_sequence(self) -> int:
        self._last_sequence = max(self._last_sequence + 1, time.time_ns() // 1000)
        return self._last_sequence

    def signed(
        self,
        version_id: str,
        manifest_sha256: str,
        *,
        sequence: int | None = None,
        set_by: str = "test",
    ) -> records_pb2.ServingPointer:
        return self.signer.sign(
            records_pb2.ServingPointer(
                serving_version=version_id,
                manifest_sha256=manifest_sha256,
                set_by=set_by,
                sequence=self.next_sequence() if sequence is None else sequence,
            )
        )

    def write_public_key(self, path: Path) -> Path:
        """Writes the public key (PEM) for a serving process's --pointer-public-key."""
        write_public_key(path, self._private.public_key())
        return path


def serving_trust_arguments(directory: Path, key: PointerKey | None = None) -> list[str]:
    """`--pointer-public-key` (key's, the test key by default, written under directory)
    and `--state-dir` (a new directory under directory) for a serving process."""
    chosen = key or TEST_KEY
    public = chosen.write_public_key(directory / "pointer-public.pem")
    state = directory / "serving-state"
    return ["--pointer-public-key", str(public), "--state-dir", str(state)]


#: The key of this test process: serving harnesses trust it unless told otherwise.
TEST_KEY = PointerKey.generate()
