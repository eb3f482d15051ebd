"""Each serving service runs alone from its own entry point, reports health, and drains
on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from recmesh.etcd.local_server import LocalEtcd
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import serving_etcd_arguments, write_pointer
from tests.pointer_signing import serving_trust_arguments
from tests.processes import kill_if_running, wait_until_serving

NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.mark.parametrize("service", ["candidates", "features", "ranking", "recommend"])
def test_service_runs_alone_turns_serving_and_exits_cleanly_on_sigterm(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path, service: str
) -> None:
    """`python -m services.X` is NOT_SERVING until it has loaded the pointer's version,
    then SERVING with that version in its metrics; SIGTERM makes it drain, log it, and
    exit 0."""
    baseline = serving_versions.baseline
    port, metrics_port = free_loopback_port(), free_loopback_port()
    log_path = tmp_path / f"{service}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                f"services.{service}",
                "--port",
                str(port),
                "--etcd",
                etcd_server.endpoint,
                *serving_etcd_arguments(etcd_server),
                "--artifacts",
                str(serving_versions.store_dir),
                "--metrics-port",
                str(metrics_port),
                *serving_trust_arguments(tmp_path),
                *(["--impressions", str(tmp_path / "imp.jsonl")] if service == "recommend" else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
        try:
            address = f"127.0.0.1:{port}"
            assert _first_health_answer(address, process, log_path) == NOT_SERVING, (
                "serving before any version was loaded"
            )
            asyncio.run(
                write_pointer(etcd_server, baseline.version_id, baseline.manifest_sha256)
            )
            wait_until_serving(address, process, log_path)
            loaded = _loaded_versions(metrics_port)
            process.send_signal(signal.SIGTERM)
            assert process.wait(20) == 0
        finally:
            kill_if_running(process)
    text = log_path.read_text()
    assert loaded == [baseline.version_id], text
    assert '"event": "draining"' in text
    assert '"event": "stopped"' in text
    assert baseline.version_id in text, text


def _first_health_answer(address: str, process: subprocess.Popen[bytes], log: Path) -> int:
    """The first health status the starting process answers with (it listens before it
    has a version; nothing is loaded while no pointer exists)."""
    deadline = time.monotonic() + 30
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                return int(stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5).status)
            except grpc.RpcError:
                time.sleep(0.05)


def _loaded_versions(metrics_port: int) -> list[str]:
    """The versions the process's /metrics reports as loaded (gauge value 1)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return [
        match.group(1)
        for match in re.finditer(
            r'recmesh_serving_version_loaded\{[^}]*version="([^"]+)"\} 1\.0', text
        )
    ]
