"""`recmesh review EXP --approve|--reject|--comment TEXT|--list`."""

from __future__ import annotations

import pytest

from cli.main import main
from tests.control_plane.harness import ControlPlaneHarness


def test_debate_and_approval(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """alice comments, bob approves with a comment (state becomes approved), --list shows
    both in order."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    control_plane.record(experiment)
    exp = experiment.experiment_id
    assert main(["review", exp, "--comment", "depth 6?", *control_plane.cli_args("alice")]) == 0
    assert "comment by alice" in capsys.readouterr().out
    args = ["review", exp, "--approve", "--comment", "ok", *control_plane.cli_args("bob")]
    assert main(args) == 0
    assert "experiment is now approved" in capsys.readouterr().out
    assert main(["review", exp, "--list", *control_plane.cli_args("olga")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["AT", "AUTHOR", "VERDICT", "COMMENT"]
    assert [line.split()[1:3] for line in lines[1:]] == [["alice", "comment"], ["bob", "approve"]]


def test_self_approval_is_permission_denied(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """The submitter approving their own experiment prints PERMISSION_DENIED, exit 1."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    control_plane.record(experiment)
    args = ["review", experiment.experiment_id, "--approve", *control_plane.cli_args("alice")]
    assert main(args) == 1
    assert capsys.readouterr().err.startswith(
        "PERMISSION_DENIED: alice submitted and recorded the evaluation of experiment"
    )


def test_review_needs_a_verdict_or_comment(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --approve/--reject/--comment/--list is a usage error (exit 2)."""
    assert main(["review", "exp-1", *control_plane.cli_args("bob")]) == 2
    assert "give --approve" in capsys.readouterr().err
