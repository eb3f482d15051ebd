"""The principals file: its format, lookups, and errors that say where the problem is."""

from __future__ import annotations

from pathlib import Path

import pytest

from control_plane.auth.principals import (
    Principals,
    PrincipalsFileError,
    load_principals,
    token_sha256,
)
from control_plane.auth.roles import Role


def test_round_trip_and_lookups(tmp_path: Path) -> None:
    """A file with a token principal and a certificate-only principal loads back; lookups
    by name and by token find them."""
    path = tmp_path / "principals.json"
    path.write_text(
        '{"format": 1, "principals": {'
        f'"alice": {{"roles": ["experimenter"], "token_sha256": "{token_sha256("t1")}"}},'
        '"deploy.example.com": {"roles": ["operator", "service"]}}}'
    )
    principals = load_principals(path)
    alice = principals.by_token("t1")
    assert alice is not None
    assert alice.name == "alice"
    deploy = principals.by_name("deploy.example.com")
    assert deploy is not None
    assert deploy.roles == {Role.OPERATOR, Role.SERVICE}
    again = Principals.from_json_bytes(principals.to_json_bytes(), "again")
    assert again == principals


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format": 2, "principals": {}}', "format must be 1"),
        ('{"format": 1, "principals": {"a": {"roles": ["root"]}}}', "unknown role 'root'"),
        (
            '{"format": 1, "principals": {"a": {"roles": [], "token_sha256": "abc"}}}',
            "is not a sha256",
        ),
        ('{"format": 1, "principals": {"bad name": {"roles": []}}}', "bad principal name"),
        ("not json", "malformed principals file"),
    ],
)
def test_malformed_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    """Each kind of mistake is a PrincipalsFileError naming the file and the problem."""
    path = tmp_path / "principals.json"
    path.write_text(text)
    with pytest.raises(PrincipalsFileError, match=message):
        load_principals(path)


def test_missing_file_says_who_creates_it(tmp_path: Path) -> None:
    """A missing file points at `recmesh up`."""
    with pytest.raises(PrincipalsFileError, match="recmesh up"):
        load_principals(tmp_path / "nope.json")
