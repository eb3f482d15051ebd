"""`recmesh up` as its users run it: a process that starts etcd and every server,
waits until all are SERVING, answers with the baseline it recorded, and on SIGTERM
stops everything it started and exits 0."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.main import main as cli_main
from local_mesh.health_wait import is_serving
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port
from tests.processes import kill_if_running

PORTS = ("recommend", "candidates", "features", "ranking", "control-plane", "etcd", "etcd-peer")
SERVERS = ("recommend", "candidates", "features", "ranking", "control-plane")


def _children(pid: int) -> set[int]:
    """Direct children of pid, from /proc."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found.update(int(child) for child in children)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_up_serves_the_baseline_and_stops_everything_on_sigterm(
    ml100k_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    shutil.copytree(ml100k_dir, state / "data" / "ml-100k")  # no second download
    ports = {name: free_loopback_port() for name in PORTS}
    argv = [sys.executable, "-m", "cli.main", "up", "--state-dir", str(state)]
    for name, port in ports.items():
        argv += [f"--{name}-port", str(port)]
    log_path = tmp_path / "up.log"
    with log_path.open("w") as log:
        up = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180
        while "recmesh is up" not in log_path.read_text():
            assert up.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        serving = {name: is_serving(f"127.0.0.1:{ports[name]}") for name in SERVERS}
        children = _children(up.pid)
        capsys.readouterr()
        front = f"127.0.0.1:{ports['recommend']}"
        code = cli_main(["recommend", "196", "-k", "5", "--json", "--address", front])
        answer = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0, log_path.read_text()
    finally:
        kill_if_running(up)
    assert serving == dict.fromkeys(SERVERS, True)
    assert code == 0
    assert answer["serving_version"].startswith("sv-")
    assert len(answer["items"]) == 5
    # etcd, the control plane and the four services, each its own process
    assert len(children) >= 6, children
    assert [pid for pid in children if _alive(pid)] == []
    assert "recmesh stopped" in log_path.read_text()
    assert not any(is_serving(f"127.0.0.1:{ports[name]}") for name in SERVERS)
