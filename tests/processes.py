"""Helpers for tests that run an entry point (`recmesh up`, a service, the control
plane) as its own process."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from local_mesh.health_wait import is_serving


def wait_until_serving(
    address: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 30
) -> None:
    """Until the process at address reports SERVING; fails with its log if it exits or
    takes longer than timeout seconds."""
    deadline = time.monotonic() + timeout
    while not is_serving(address):
        assert process.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.1)


def kill_if_running(process: subprocess.Popen[Any]) -> None:
    """For a test's `finally`: SIGKILLs and reaps the process if it has not exited."""
    if process.poll() is None:
        process.kill()
        process.wait()
