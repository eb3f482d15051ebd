"""How the CLI finds the control plane and who it acts as; set-up errors exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from recmesh.cli.main import main
from recmesh.netutil import free_loopback_port
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
    """--as a name without a token, or a tokens file that does not exist: exit 2, said why."""
    args = ["whoami", "--control-plane", control_plane.address]
    tokens = str(control_plane.credentials.client_tokens)
    assert main([*args, "--credentials", tokens, "--as", "zed"]) == 2
    assert "no token for 'zed'" in capsys.readouterr().err
    assert main([*args, "--credentials", str(tmp_path / "none.json"), "--as", "bob"]) == 2
    assert "cannot read client tokens file" in capsys.readouterr().err


def test_unreachable_control_plane_is_unavailable(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nobody listening: UNAVAILABLE on stderr, exit 1."""
    args = ["pointer", "--timeout", "2", *control_plane.cli_args("serving")]
    args[args.index(control_plane.address)] = f"127.0.0.1:{free_loopback_port()}"
    assert main(args) == 1
    assert capsys.readouterr().err.startswith("UNAVAILABLE: ")
