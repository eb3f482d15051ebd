"""The control plane's pointer signing key in its credentials directory.

`pointer-signing.key` (Ed25519, PKCS#8 PEM, mode 0600) is read by the control plane
only; `pointer-signing.pub` is what serving processes are configured with
(`--pointer-public-key`). Both are made once and kept on later starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from recmesh.signing.keys import create_key_pair, load_private_key, write_public_key

SIGNING_KEY_FILE = "pointer-signing.key"
PUBLIC_KEY_FILE = "pointer-signing.pub"


@dataclass(frozen=True)
class SigningKeyFiles:
    private: Path
    public: Path


def ensure_signing_key(directory: Path) -> SigningKeyFiles:
    """The key pair under directory (mode 0700): made when the private key is missing; the
    public key is written again from the private one when only it is missing."""
    files = SigningKeyFiles(directory / SIGNING_KEY_FILE, directory / PUBLIC_KEY_FILE)
    if files.private.exists():
        if not files.public.exists():
            write_public_key(files.public, load_private_key(files.private).public_key())
        return files
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    create_key_pair(files.private, files.public)
    return files
