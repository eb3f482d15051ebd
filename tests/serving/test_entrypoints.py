"""Each serving service runs alone from its own entry point, reports health, and drains
on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recmesh.etcd.local_server import LocalEtcd
from recmesh.mesh.health_wait import is_serving
from recmesh.netutil import free_loopback_port
from recmesh.paths import REPO_ROOT
from tests.mesh_harness import write_pointer
from tests.serving.conftest import ServingVersions


@pytest.mark.parametrize("service", ["candidates", "features", "ranking", "recommend"])
def test_service_runs_alone_turns_serving_and_exits_cleanly_on_sigterm(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path, service: str
) -> None:
    """`python -m services.X` is NOT_SERVING until it has loaded the pointer's version,
    then SERVING; SIGTERM makes it drain, log it, and exit 0."""
    baseline = serving_versions.baseline
    port = free_loopback_port()
    log_path = tmp_path / f"{service}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", f"services.{service}",
                "--port", str(port),
                "--etcd", etcd_server.endpoint,
                "--artifacts", str(serving_versions.store_dir),
                *(["--impressions", str(tmp_path / "imp.jsonl")] if service == "recommend" else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
        try:
            address = f"127.0.0.1:{port}"
            time.sleep(1.0)
            assert not is_serving(address), "serving before any version was loaded"
            asyncio.run(
                write_pointer(etcd_server.endpoint, baseline.version_id, baseline.manifest_sha256)
            )
            deadline = time.monotonic() + 30
            while not is_serving(address):
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            assert process.wait(20) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log_path.read_text()
    assert '"event": "draining"' in text
    assert '"event": "stopped"' in text
    assert baseline.version_id in text, text
