"""`recmesh whoami [--json]`."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from tests.control_plane.harness import ControlPlaneHarness


def test_whoami_json(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """erin is shown with both of her roles."""
    assert main(["whoami", "--json", *control_plane.cli_args("erin")]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "principal": "erin",
        "roles": ["experimenter", "reviewer"],
    }
