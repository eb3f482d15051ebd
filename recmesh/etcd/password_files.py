"""The etcd passwords of an installation, one file per user in a directory of its own.

`{credentials}/etcd/root.password`, `recmesh-control-plane.password` and
`recmesh-serving.password`: mode 0600 in a directory of mode 0700, made once and kept,
so restarting `recmesh up` over an existing etcd keeps working. Each process is given
the path of its own user's file only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.users import CONTROL_PLANE_USER, ROOT_USER, SERVING_USER, USERS
from recmesh.files.atomic import replace_file

PASSWORDS_DIR = "etcd"


@dataclass(frozen=True)
class EtcdPasswordFiles:
    """Where each user's password lives."""

    directory: Path

    def path(self, user: str) -> Path:
        return self.directory / f"{user}.password"

    def credentials(self, user: str) -> EtcdCredentials:
        """The user's credentials read from its file; raises EtcdCredentialsError."""
        return EtcdCredentials.from_file(user, self.path(user))

    @property
    def root(self) -> EtcdCredentials:
        return self.credentials(ROOT_USER)

    @property
    def control_plane(self) -> EtcdCredentials:
        return self.credentials(CONTROL_PLANE_USER)

    @property
    def serving(self) -> EtcdCredentials:
        return self.credentials(SERVING_USER)


def ensure_password_files(credentials_dir: Path) -> EtcdPasswordFiles:
    """A random password (256 bits) per user under credentials_dir/etcd/, each written
    only when missing."""
    files = EtcdPasswordFiles(credentials_dir / PASSWORDS_DIR)
    files.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    files.directory.chmod(0o700)
    for user in USERS:
        path = files.path(user)
        if not path.exists():
            replace_file(path, (secrets.token_urlsafe(32) + "\n").encode(), mode=0o600)
    return files


