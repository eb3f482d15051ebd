"""Who an etcd client is: a user and its password, read from a file of its own.

etcd's auth is on in every recmesh installation (recmesh/etcd/users.py names the
users). A process is given its user and the path of its password file
(`--etcd-user`, `--etcd-password-file`), never another user's; with mutual TLS it
is given neither, and etcd takes its certificate's CN as the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class EtcdCredentialsError(ValueError):
    """A password file is missing, unreadable or empty; the message names the file,
    never its content."""


@dataclass(frozen=True)
class EtcdCredentials:
    """An etcd user and its password (left out of repr, so logging this prints no
    password)."""

    user: str
    password: str = field(repr=False)

    @classmethod
    def from_file(cls, user: str, path: Path) -> EtcdCredentials:
        """The password is the file's first line; raises EtcdCredentialsError."""
        if not user:
            raise EtcdCredentialsError("an etcd user name is needed with a password file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise EtcdCredentialsError(f"cannot read the etcd password file {path}: {exc}") from exc
        lines = text.splitlines()
        password = lines[0].strip() if lines else ""
        if not password:
            raise EtcdCredentialsError(f"the etcd password file {path} is empty")
        return cls(user, password)
