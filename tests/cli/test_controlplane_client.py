"""How the CLI finds the control plane and who it acts as; set-up errors exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli.main import main
from recmesh.net.ports import free_loopback_port
from tests.control_plane.harness import ControlPlaneHarness


def test_state_changing_commands_need_an_identity(
    control_plane: ControlPlaneHarness,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without --as (or $RECMESH_AS), promote exits 2 listing the known principals."""
    monkeypatch.delenv("RECMESH_AS", raising=False)
    args = ["promote", "exp-1", "--control-plane", control_plane.address]
    args += ["--credentials", str(control_plane.credentials.client_tokens)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--as NAME" in err
    assert "alice, bob, dana, erin, olga, serving" in err


def test_environment_selects_address_identity_and_tokens(
    control_plane: ControlPlaneHarness,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """$RECMESH_CONTROL_PLANE, $RECMESH_AS and $RECMESH_CREDENTIALS replace the flags."""
    monkeypatch.setenv("RECMESH_CONTROL_PLANE", control_plane.address)
    monkeypatch.setenv("RECMESH_AS", "dana")
    monkeypatch.setenv("RECMESH_CREDENTIALS", str(control_plane.credentials.client_tokens))
    assert main(["whoami"]) == 0
    assert capsys.readouterr().out.strip() == "dana (reviewer)"


def test_unknown_principal_and_missing_file_exit_2(
    control_plane: ControlPlaneHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--as a name without a token file, or a tokens directory that does not exist: exit 2,
    said why (naming the principals that have a file, never reading theirs)."""
    args = ["whoami", "--control-plane", control_plane.address]
    tokens = str(control_plane.credentials.client_tokens)
    assert main([*args, "--credentials", tokens, "--as", "zed"]) == 2
    assert "no token for 'zed'" in capsys.readouterr().err
    assert main([*args, "--credentials", tokens, "--as", "../principals"]) == 2
    assert "is not a principal name" in capsys.readouterr().err
    assert main([*args, "--credentials", str(tmp_path / "none"), "--as", "bob"]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_the_cli_reads_only_the_named_principals_file(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """--as bob reads bob.token alone: with every other token file unreadable, bob is still
    bob, and alice cannot be acted as."""
    directory = control_plane.credentials.client_tokens
    others = [path for path in directory.iterdir() if path.name != "bob.token"]
    for path in others:
        path.chmod(0o000)
    try:
        args = ["whoami", "--control-plane", control_plane.address, "--credentials"]
        assert main([*args, str(directory), "--as", "bob"]) == 0
        assert "bob" in capsys.readouterr().out
        if os.geteuid() != 0:  # root reads any file
            assert main([*args, str(directory), "--as", "alice"]) == 2
            assert "cannot read token file" in capsys.readouterr().err
    finally:
        for path in others:
            path.chmod(0o600)


def test_unreachable_control_plane_is_unavailable(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nobody listening: UNAVAILABLE on stderr, exit 1."""
    args = ["pointer", "--timeout", "2", *control_plane.cli_args("serving")]
    args[args.index(control_plane.address)] = f"127.0.0.1:{free_loopback_port()}"
    assert main(args) == 1
    assert capsys.readouterr().err.startswith("UNAVAILABLE: ")
