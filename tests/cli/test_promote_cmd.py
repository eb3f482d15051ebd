"""`recmesh promote EXP`: success moves the pointer; refusals print the status and reason."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from tests.control_plane.harness import ControlPlaneHarness


def test_refused_promotion_prints_status_and_reason(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without approvals: stderr 'FAILED_PRECONDITION: not enough approvals: 0 of 1', exit 1."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    control_plane.record(experiment)
    code = main(["promote", experiment.experiment_id, *control_plane.cli_args("olga")])
    assert code == 1
    assert capsys.readouterr().err.strip() == ("FAILED_PRECONDITION: not enough approvals: 0 of 1")
    code = main(["promote", experiment.experiment_id, "--json", *control_plane.cli_args("olga")])
    assert code == 1
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["code"] == "FAILED_PRECONDITION"


def test_promotion_prints_old_and_new_version(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """An approved experiment is promoted; the output names both versions and the revision."""
    experiment = control_plane.approved_experiment(control_plane.challenger_a)
    assert main(["promote", experiment.experiment_id, *control_plane.cli_args("olga")]) == 0
    # The in-process server logs to stdout too; the command's own line is the last one.
    out = capsys.readouterr().out.splitlines()[-1]
    pointer = control_plane.pointer()
    assert out == (
        f"promoted {experiment.experiment_id}: serving {control_plane.baseline.version_id} -> "
        f"{pointer.serving_version} (pointer revision {pointer.revision})"
    )


def test_wrong_role_prints_permission_denied(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reviewer running promote gets PERMISSION_DENIED on stderr and exit 1."""
    assert main(["promote", "exp-x", *control_plane.cli_args("bob")]) == 1
    assert capsys.readouterr().err.startswith("PERMISSION_DENIED: bob (roles: reviewer)")
