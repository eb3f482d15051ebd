"""`recmesh rollback --reason TEXT [--to VERSION]`."""

from __future__ import annotations

import pytest

from cli.main import main
from tests.control_plane.harness import ControlPlaneHarness


def test_rollback_restores_the_baseline(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a promotion, rollback prints new -> old and the pointer names the baseline."""
    experiment = control_plane.approved_experiment(control_plane.challenger_a)
    control_plane.promote(experiment.experiment_id)
    args = ["rollback", "--reason", "ctr dropped", *control_plane.cli_args("olga")]
    assert main(args) == 0
    assert f"-> {control_plane.baseline.version_id}" in capsys.readouterr().out
    assert control_plane.pointer().serving_version == control_plane.baseline.version_id


def test_rollback_to_unknown_version_fails(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """--to a version that never served is FAILED_PRECONDITION, exit 1."""
    args = ["rollback", "--reason", "x", "--to", "sv-0000000000000000"]
    assert main([*args, *control_plane.cli_args("olga")]) == 1
    assert capsys.readouterr().err.startswith("FAILED_PRECONDITION: ")
