"""`recmesh up` over a serving pointer overwritten with garbage as etcd's root, behind the
control plane: it starts, serving answers with the last verified version (an XGBoost
version promoted after the baseline, so the answer tells serving's own copy from the
baseline that `recmesh up` registers), `recmesh pointer` names the damage, and `recmesh
rollback --to` repairs it."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from cli.main import main as cli_main
from local_mesh.layout import MeshLayout
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.data.loaders import load_ml100k
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port
from testkit.bundles import build_xgboost_bundle
from testkit.promotion_flow import PromotionFlow
from tests.mesh_harness import put_pointer_value
from tests.processes import kill_if_running

PORTS = ("recommend", "candidates", "features", "ranking", "control-plane", "etcd", "etcd-peer")


def _start_up(state: Path, ports: dict[str, int], log_path: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "cli.main", "up", "--state-dir", str(state)]
    for name, port in ports.items():
        argv += [f"--{name}-port", str(port)]
    with log_path.open("w") as log:
        up = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while "recmesh is up" not in log_path.read_text():
        assert up.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.2)
    return up


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli_main(list(argv))
    return code, capsys.readouterr().out


def _promote_xgboost(state: Path, control_plane: str) -> str:
    """Trains a small XGBoost version into the installation's store and promotes it
    through the control plane; returns its version id."""
    layout = MeshLayout(state)
    bundle = build_xgboost_bundle(
        load_ml100k(layout.data / "ml-100k"), LocalArtifactStore(layout.artifacts)
    )

    async def promote() -> None:
        async with grpc.aio.insecure_channel(control_plane) as channel:
            flow = PromotionFlow.over(channel, layout.credentials / "tokens")
            await flow.register(bundle.manifest_sha256)
            await flow.promote_version(bundle.version_id)

    asyncio.run(promote())
    return bundle.version_id


def _answering(capsys: pytest.CaptureFixture[str], front: str) -> dict[str, object]:
    _, out = _cli(capsys, "recommend", "196", "-k", "5", "--json", "--address", front)
    answer: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return answer


def _wait_answering(
    capsys: pytest.CaptureFixture[str], front: str, version: str, within_s: float = 60
) -> None:
    deadline = time.monotonic() + within_s
    while _answering(capsys, front)["serving_version"] != version:
        assert time.monotonic() < deadline, f"the front never answered with {version}"
        time.sleep(0.5)


@pytest.mark.slow
def test_up_starts_over_a_garbage_pointer_and_rollback_repairs_it(
    ml100k_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    shutil.copytree(ml100k_dir, state / "data" / "ml-100k")
    ports = {name: free_loopback_port() for name in PORTS}
    front = f"127.0.0.1:{ports['recommend']}"
    client = [
        "--control-plane", f"127.0.0.1:{ports['control-plane']}",
        "--credentials", str(state / "credentials" / "tokens"),
    ]  # fmt: skip
    up = _start_up(state, ports, tmp_path / "up-1.log")
    try:
        baseline = _answering(capsys, front)["serving_version"]
        version = _promote_xgboost(state, f"127.0.0.1:{ports['control-plane']}")
        _wait_answering(capsys, front, version)
        root = MeshLayout(state).etcd_passwords.root
        garbage = b'{"servingVersion": '
        asyncio.run(put_pointer_value(f"127.0.0.1:{ports['etcd']}", garbage, root=root))
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0
    finally:
        kill_if_running(up)
    restarted = time.monotonic()
    up = _start_up(state, ports, tmp_path / "up-2.log")
    try:
        up_s = time.monotonic() - restarted
        answer = _answering(capsys, front)
        damaged_code, damaged = _cli(capsys, "pointer", *client)
        repair_code, _ = _cli(
            capsys, "rollback", "--to", version, "--reason", "garbage pointer",
            *client, "--as", "olga",
        )  # fmt: skip
        pointer_code, pointer = _cli(capsys, "pointer", "--json", *client)
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0
    finally:
        kill_if_running(up)
    log = (tmp_path / "up-2.log").read_text()
    assert "serving_pointer_damaged" in log
    assert version != baseline
    assert answer["serving_version"] == version
    assert isinstance(answer["items"], list)
    assert len(answer["items"]) == 5
    assert damaged_code == 1
    assert "serving pointer DAMAGED" in damaged
    assert f"last signed record (what serving keeps answering with): {version}" in damaged
    assert repair_code == 0
    assert pointer_code == 0
    assert json.loads(pointer)["serving_version"] == version
    print(f"[reliability] recmesh up over a garbage pointer: up {up_s:.1f} s after start, "
          f"answering {version} (promoted XGBoost, not the baseline); rollback --to repaired it")
