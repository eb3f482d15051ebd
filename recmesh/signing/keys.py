"""Ed25519 key files of the pointer signature: the control plane's private key and the
public keys serving processes are configured with.

Private keys are PKCS#8 PEM without encryption, written mode 0600; public keys are
SubjectPublicKeyInfo PEM. A key's id is the first 16 hex digits of the sha256 of its
raw 32 bytes; a signature names the id of the key that made it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from recmesh.files.atomic import replace_file


class KeyFileError(ValueError):
    """A key file is missing, unreadable or holds no Ed25519 key of the expected kind."""


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{path}: not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read(path))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{path}: not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class PublicKeyRing:
    """The public keys a verifier accepts, by key id (several during a rotation)."""

    keys: Mapping[str, Ed25519PublicKey]

    @classmethod
    def of(cls, keys: Iterable[Ed25519PublicKey]) -> PublicKeyRing:
        return cls({key_id(key): key for key in keys})

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> PublicKeyRing:
        """Raises KeyFileError naming the first unusable file, ValueError for none."""
        ring = cls.of(load_public_key(path) for path in paths)
        if not ring.keys:
            raise ValueError("no public key given")
        return ring

    def find(self, wanted: str) -> Ed25519PublicKey | None:
        return self.keys.get(wanted)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.keys))


def create_key_pair(private_path: Path, public_path: Path) -> Ed25519PublicKey:
    """Writes a new key pair (the private key mode 0600, replacing atomically) and returns
    its public key."""
    private = Ed25519PrivateKey.generate()
    replace_file(
        private_path,
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        mode=0o600,
    )
    public = private.public_key()
    write_public_key(public_path, public)
    return public


def write_public_key(path: Path, public_key: Ed25519PublicKey) -> None:
    replace_file(path, public_pem(public_key), mode=0o644)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc


