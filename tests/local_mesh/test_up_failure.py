"""`recmesh up` that fails to start: one clear error line, no traceback, and no process
left behind (etcd included), whichever step failed."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port

PORTS = ("recommend", "candidates", "features", "ranking", "control-plane", "etcd", "etcd-peer")


def _processes_naming(text: str) -> list[str]:
    """Command lines of the live processes that mention text (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append(cmdline)
    return found


def _up(state: Path, ports: dict[str, int], *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "cli.main", "up", "--state-dir", str(state), *extra]
    for name, port in ports.items():
        argv += [f"--{name}-port", str(port)]
    return subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_up_failing_after_etcd_started_stops_etcd_and_says_why(tmp_path: Path) -> None:
    """A dataset that does not exist fails the baseline step after etcd is up (its auth
    on): exit 1, one `recmesh up: ...` error naming the step, no traceback, etcd gone
    and its port closed."""
    state = tmp_path / "state"
    ports = {name: free_loopback_port() for name in PORTS}
    result = _up(state, ports, "--dataset", str(tmp_path / "no-such-dataset.csv"))
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("recmesh up:")]
    assert len(errors) == 1, result.stderr
    assert "setting up the baseline serving version failed" in errors[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert _processes_naming(str(state)) == []
    assert not _port_open(ports["etcd"])
    # etcd did start, and was secured before the failure.
    assert (state / "credentials" / "etcd" / "root.password").exists()


def test_up_failing_to_start_etcd_says_why_and_leaves_nothing(tmp_path: Path) -> None:
    """With etcd's client port taken by someone else, etcd cannot start: exit 1, one
    error line naming that step, no traceback, nothing of this state dir left running."""
    state = tmp_path / "state"
    ports = {name: free_loopback_port() for name in PORTS}
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["etcd"]))
        squatter.listen()
        result = _up(state, ports)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("recmesh up:")]
    assert len(errors) == 1, result.stderr
    assert "starting etcd failed" in errors[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert _processes_naming(str(state)) == []
