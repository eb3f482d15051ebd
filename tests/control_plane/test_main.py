"""`python -m control_plane`: serves until SIGTERM, then drains and exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from control_plane.__main__ import build_parser, config_from
from control_plane.auth.client_tokens import load_client_tokens
from control_plane.auth.credentials import create_credentials
from control_plane.signing_key import ensure_signing_key
from local_mesh.certificates import ensure_mesh_certificates
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import control_plane_pb2_grpc
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.users import CONTROL_PLANE_USER
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port
from tests.control_plane.harness import code_of, rpc_error
from tests.processes import kill_if_running


def _wait_serving(address: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                status = health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)


def _as_control_plane(etcd: LocalEtcd) -> tuple[str, ...]:
    assert etcd.passwords is not None
    path = etcd.passwords.path(CONTROL_PLANE_USER)
    return ("--etcd-user", CONTROL_PLANE_USER, "--etcd-password-file", str(path))


def _start(
    etcd: LocalEtcd, tmp_path: Path, principals: Path, port: int, drain_seconds: float
) -> subprocess.Popen[str]:
    """`python -m control_plane` on port, its stderr piped."""
    argv = [
        sys.executable, "-m", "control_plane",
        "--port", str(port),
        "--etcd", etcd.endpoint,
        *_as_control_plane(etcd),
        "--artifacts", str(tmp_path / "artifacts"),
        "--credentials", str(principals),
        "--pointer-signing-key", str(ensure_signing_key(tmp_path / "credentials").private),
        "--drain-seconds", str(drain_seconds),
    ]  # fmt: skip
    return subprocess.Popen(argv, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)


def test_process_serves_and_drains_on_sigterm(shared_etcd: LocalEtcd, tmp_path: Path) -> None:
    """The entry point becomes SERVING and logs JSON lines; on SIGTERM it gives an open
    WatchPointer stream the drain period, ends it, logs draining and stopped, exits 0."""
    files = create_credentials(tmp_path / "credentials")
    port = free_loopback_port()
    process = _start(shared_etcd, tmp_path, files.principals, port, drain_seconds=1)
    token = load_client_tokens(files.client_tokens)["serving"]
    try:
        _wait_serving(f"127.0.0.1:{port}", timeout=20)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = control_plane_pb2_grpc.ControlPlaneServiceStub(channel)
            stream = stub.WatchPointer(
                pb.WatchPointerRequest(), metadata=(("authorization", f"Bearer {token}"),)
            )
            time.sleep(0.3)  # let the stream reach the server
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=15)
            elapsed = time.monotonic() - signalled
            error = rpc_error(next, stream)
    finally:
        kill_if_running(process)
    assert process.returncode == 0, stderr
    assert 0.9 < elapsed < 10
    assert code_of(error) in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    assert '"event": "listening"' in stderr
    assert '"event": "draining"' in stderr
    assert '"event": "stopped"' in stderr


def test_health_watchers_see_not_serving_when_draining(
    shared_etcd: LocalEtcd, tmp_path: Path
) -> None:
    """On SIGTERM the control plane tells its health watchers NOT_SERVING before it
    drains (as the serving processes do), so balancers and `recmesh up` stop sending
    to it while in-flight calls finish."""
    files = create_credentials(tmp_path / "credentials")
    port = free_loopback_port()
    process = _start(shared_etcd, tmp_path, files.principals, port, drain_seconds=2)
    try:
        _wait_serving(f"127.0.0.1:{port}", timeout=20)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service=""), timeout=15
            )
            before = next(watch).status
            process.send_signal(signal.SIGTERM)
            after = next(watch).status
            watch.cancel()
        _, stderr = process.communicate(timeout=15)
    finally:
        kill_if_running(process)
    assert before == health_pb2.HealthCheckResponse.SERVING
    assert after == health_pb2.HealthCheckResponse.NOT_SERVING
    assert process.returncode == 0, stderr


def test_unusable_credentials_file_exits_2(shared_etcd: LocalEtcd, tmp_path: Path) -> None:
    """A missing principals file stops start-up with exit code 2 and says which file."""
    missing = tmp_path / "missing.json"
    argv = [
        sys.executable, "-m", "control_plane",
        "--port", "0",
        "--etcd", shared_etcd.endpoint,
        *_as_control_plane(shared_etcd),
        "--artifacts", str(tmp_path),
        "--credentials", str(missing),
        "--pointer-signing-key", str(ensure_signing_key(tmp_path / "credentials").private),
    ]  # fmt: skip
    result = subprocess.run(
        argv,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert str(missing) in result.stderr


def test_rule_floors_are_options(tmp_path: Path) -> None:
    """--confidence-floor and --resamples-floor reach the config (defaults 0.9 and 200); a
    floor outside (0, 1) or below 1 resample exits 2."""
    required = [
        "--artifacts", str(tmp_path), "--credentials", str(tmp_path / "p.json"),
        "--pointer-signing-key", str(tmp_path / "key.pem"),
        "--etcd-user", "u", "--etcd-password-file", str(tmp_path / "pw"),
    ]  # fmt: skip
    (tmp_path / "pw").write_text("secret\n")
    parser = build_parser()
    config = config_from(parser.parse_args(required), parser)
    assert (config.confidence_floor, config.resamples_floor) == (0.9, 200)
    raised = ["--confidence-floor", "0.99", "--resamples-floor", "5000"]
    config = config_from(parser.parse_args([*required, *raised]), parser)
    assert (config.confidence_floor, config.resamples_floor) == (0.99, 5000)
    for bad in (["--confidence-floor", "1.5"], ["--resamples-floor", "0"]):
        with pytest.raises(SystemExit) as exited:
            config_from(parser.parse_args([*required, *bad]), parser)
        assert exited.value.code == 2


def test_rollout_options(tmp_path: Path) -> None:
    """--impressions (repeatable) and --rollout-tick-seconds reach the config (defaults:
    none, 1 s); a tick of 0 exits 2."""
    required = [
        "--artifacts", str(tmp_path), "--credentials", str(tmp_path / "p.json"),
        "--pointer-signing-key", str(tmp_path / "key.pem"),
        "--etcd-user", "u", "--etcd-password-file", str(tmp_path / "pw"),
    ]  # fmt: skip
    (tmp_path / "pw").write_text("secret\n")
    parser = build_parser()
    config = config_from(parser.parse_args(required), parser)
    assert (config.impressions, config.rollout_tick_seconds) == ((), 1.0)
    logs = ["--impressions", "a.jsonl", "--impressions", "b.jsonl"]
    config = config_from(
        parser.parse_args([*required, *logs, "--rollout-tick-seconds", "0.5"]), parser
    )
    assert config.impressions == (Path("a.jsonl"), Path("b.jsonl"))
    assert config.rollout_tick_seconds == 0.5
    with pytest.raises(SystemExit) as exited:
        config_from(parser.parse_args([*required, "--rollout-tick-seconds", "0"]), parser)
    assert exited.value.code == 2


def test_etcd_tls_options_give_the_control_plane_its_etcd_certificates(tmp_path: Path) -> None:
    """--etcd-tls-* is what the control plane presents to etcd while --tls-* serves
    gRPC; without them etcd gets the --tls-* files."""
    mesh = ensure_mesh_certificates(tmp_path / "mesh", ("control-plane",), (), days=1)
    etcd = ensure_mesh_certificates(tmp_path / "etcd", ("control-plane",), (), days=1)
    mesh_files, etcd_files = mesh.files("control-plane"), etcd.files("control-plane")
    required = [
        "--artifacts", str(tmp_path), "--credentials", str(tmp_path / "p.json"),
        "--pointer-signing-key", str(tmp_path / "key.pem"),
        "--tls-ca", str(mesh_files.ca), "--tls-cert", str(mesh_files.cert),
        "--tls-key", str(mesh_files.key),
    ]  # fmt: skip
    etcd_args = [
        "--etcd-tls-ca", str(etcd_files.ca), "--etcd-tls-cert", str(etcd_files.cert),
        "--etcd-tls-key", str(etcd_files.key),
    ]  # fmt: skip
    parser = build_parser()
    config = config_from(parser.parse_args([*required, *etcd_args]), parser)
    assert (config.tls, config.etcd_tls) == (mesh_files, etcd_files)
    config = config_from(parser.parse_args(required), parser)
    assert config.etcd_tls == mesh_files
