"""`recmesh models upload|register|list|show`: a version from local files to a record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from recmesh.artifacts.store import LocalArtifactStore
from tests.control_plane.harness import ControlPlaneHarness, write_fake_bundle


def test_upload_register_list_show(
    control_plane: ControlPlaneHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files uploaded by the CLI land in the control plane's store; registering the manifest
    creates the version, a second time says 'already registered'; list and show find it."""
    local = LocalArtifactStore(tmp_path / "local")
    bundle = write_fake_bundle(local, "from-the-cli", with_model=True)
    assert bundle.manifest.model is not None
    for name, sha in (
        ("snapshot", bundle.manifest.snapshot.sha256),
        ("model", bundle.manifest.model.sha256),
        ("manifest", bundle.manifest_sha256),
    ):
        path = tmp_path / name
        path.write_bytes(local.get_bytes(sha))
        args = ["models", "upload", str(path), "--json", *control_plane.cli_args("alice")]
        assert main(args) == 0
        assert json.loads(capsys.readouterr().out)["sha256"] == sha
    register = ["models", "register", bundle.manifest_sha256, "--param", "max_depth=6"]
    assert main([*register, *control_plane.cli_args("alice")]) == 0
    assert capsys.readouterr().out.strip() == f"registered: {bundle.version_id}"
    assert main([*register, *control_plane.cli_args("alice")]) == 0
    assert capsys.readouterr().out.strip() == f"already registered: {bundle.version_id}"

    assert main(["models", "list", *control_plane.cli_args("bob")]) == 0
    listing = capsys.readouterr().out
    assert bundle.version_id in listing
    assert control_plane.baseline.version_id in listing
    assert main(["models", "show", bundle.version_id, *control_plane.cli_args("bob")]) == 0
    shown = capsys.readouterr().out
    assert "param           max_depth=6" in shown
    assert f"sha256:{bundle.manifest.model.sha256}" in shown


def test_register_unknown_manifest_fails(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """A manifest that is not in the store: FAILED_PRECONDITION on stderr, exit 1."""
    args = ["models", "register", "ab" * 32, *control_plane.cli_args("alice")]
    assert main(args) == 1
    assert capsys.readouterr().err.startswith("FAILED_PRECONDITION: manifest sha256:abab")
