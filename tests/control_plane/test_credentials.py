"""`recmesh up`'s credentials: hashed tokens for the server, one plaintext token file per
principal for the CLI, all 0600."""

from __future__ import annotations

import stat
from pathlib import Path

from control_plane.auth.client_tokens import load_client_tokens, read_token
from control_plane.auth.credentials import create_credentials
from control_plane.auth.principals import load_principals, token_sha256
from control_plane.auth.roles import Role


def test_demo_principals_get_their_roles_and_hashed_tokens(tmp_path: Path) -> None:
    """alice experimenter, bob and dana reviewers, olga operator, serving service; the
    server file holds only sha256 of tokens and each client token maps to its principal."""
    files = create_credentials(tmp_path / "credentials")
    principals = load_principals(files.principals)
    tokens = load_client_tokens(files.client_tokens)
    assert set(tokens) == {"alice", "bob", "dana", "olga", "serving"}
    expected = {
        "alice": {Role.EXPERIMENTER},
        "bob": {Role.REVIEWER},
        "dana": {Role.REVIEWER},
        "olga": {Role.OPERATOR},
        "serving": {Role.SERVICE},
    }
    server_text = files.principals.read_text()
    for name, token in tokens.items():
        principal = principals.by_token(token)
        assert principal is not None
        assert principal.name == name
        assert principal.roles == expected[name]
        assert token not in server_text
        assert token_sha256(token) in server_text
    assert principals.by_token("rmcp_forged") is None


def test_files_are_private_one_per_principal(tmp_path: Path) -> None:
    """The principals file and each principal's own token file (tokens/NAME.token, holding
    that token alone) are mode 0600, their directories 0700."""
    files = create_credentials(tmp_path / "credentials")
    assert stat.S_IMODE(files.principals.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.principals.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(files.client_tokens.stat().st_mode) == 0o700
    names = sorted(path.name for path in files.client_tokens.iterdir())
    assert names == ["alice.token", "bob.token", "dana.token", "olga.token", "serving.token"]
    for path in files.client_tokens.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().strip() == read_token(files.client_tokens, path.stem)
        assert len(path.read_text().split()) == 1


def test_existing_credentials_are_kept_unless_overwritten(tmp_path: Path) -> None:
    """A second call keeps the tokens already handed out; overwrite=True rotates them; an
    install's old shared client-tokens.json is removed when the per-principal files are
    created."""
    (tmp_path / "client-tokens.json").write_text("{}")
    files = create_credentials(tmp_path)
    assert not (tmp_path / "client-tokens.json").exists()
    first = load_client_tokens(files.client_tokens)
    create_credentials(tmp_path)
    assert load_client_tokens(files.client_tokens) == first
    create_credentials(tmp_path, overwrite=True)
    assert load_client_tokens(files.client_tokens) != first
