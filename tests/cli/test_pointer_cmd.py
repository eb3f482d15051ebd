"""`recmesh pointer [--json]`: which version serves, at which revision."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from tests.control_plane.harness import ControlPlaneHarness


def test_pointer_json_has_version_and_revision(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints one object with serving_version and the revision as a number."""
    assert main(["pointer", "--json", *control_plane.cli_args("serving")]) == 0
    shown = json.loads(capsys.readouterr().out)
    pointer = control_plane.pointer()
    assert shown["serving_version"] == pointer.serving_version
    assert shown["revision"] == pointer.revision
    assert isinstance(shown["revision"], int)
    assert shown["manifest_sha256"] == control_plane.baseline.manifest_sha256


def test_pointer_human_output(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default output names the version, the revision and who set it."""
    assert main(["pointer", *control_plane.cli_args("serving")]) == 0
    out = capsys.readouterr().out
    assert f"serving version {control_plane.baseline.version_id}" in out
    assert "set by    recmesh-up" in out
