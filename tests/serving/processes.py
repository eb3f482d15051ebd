"""Helpers for tests that run a serving entry point as its own process."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from recmesh.mesh.health_wait import is_serving


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
