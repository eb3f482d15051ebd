"""Creates an installation's credentials: the server's principals file (token hashes and
roles) and each principal's own token file for the CLI (`tokens/NAME.token`), all mode
0600 in directories of mode 0700."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from control_plane.auth.client_tokens import token_path
from control_plane.auth.principals import PrincipalRecord, Principals, token_sha256
from control_plane.auth.roles import Role
from recmesh.files.atomic import replace_file

PRINCIPALS_FILE = "principals.json"
TOKENS_DIR = "tokens"
#: Where installs before per-principal token files kept every token; removed on creation.
_LEGACY_CLIENT_TOKENS = "client-tokens.json"
TOKEN_PREFIX = "rmcp_"

#: The local demo installation: one experimenter, two reviewers, one operator, the mesh.
DEMO_PRINCIPALS: tuple[tuple[str, frozenset[Role]], ...] = (
    ("alice", frozenset({Role.EXPERIMENTER})),
    ("bob", frozenset({Role.REVIEWER})),
    ("dana", frozenset({Role.REVIEWER})),
    ("olga", frozenset({Role.OPERATOR})),
    ("serving", frozenset({Role.SERVICE})),
)


@dataclass(frozen=True)
class CredentialFiles:
    """`principals` is the server's file; `client_tokens` the directory of the principals'
    token files, one each (`client_tokens.read_token`)."""

    principals: Path
    client_tokens: Path


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_credentials(
    directory: Path,
    principals: Sequence[tuple[str, frozenset[Role]]] = DEMO_PRINCIPALS,
    *,
    overwrite: bool = False,
) -> CredentialFiles:
    """Writes `principals.json` and one `tokens/NAME.token` per principal under directory.

    Existing files are kept unless overwrite is set, so running `recmesh up`
    again does not invalidate tokens already handed out.
    """
    files = CredentialFiles(directory / PRINCIPALS_FILE, directory / TOKENS_DIR)
    token_files = [token_path(files.client_tokens, name) for name, _ in principals]
    if not overwrite and files.principals.exists() and all(p.exists() for p in token_files):
        return files
    for path in (directory, files.client_tokens):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)
    tokens = {name: new_token() for name, _ in principals}
    records = Principals(
        {
            name: PrincipalRecord(name, roles, token_sha256(tokens[name]))
            for name, roles in principals
        }
    )
    for name, _ in principals:
        token = (tokens[name] + "\n").encode()
        replace_file(token_path(files.client_tokens, name), token, mode=0o600)
    replace_file(files.principals, records.to_json_bytes(), mode=0o600)
    (directory / _LEGACY_CLIENT_TOKENS).unlink(missing_ok=True)
    return files


