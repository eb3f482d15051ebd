"""The image's layout built without Docker (no Docker engine runs on these machines), and
one server started from it.

As the Dockerfile's build stage does: the files it copies from the repository (and only
those) make a build context, the project's wheel is built from it with `pip wheel
--no-deps`, and installed with `pip install --no-deps` into a fresh venv, the prefix
(/opt/recmesh in the image). Then the candidates service runs from the prefix's own
entry point, `bin/recmesh-candidates`, outside the checkout, and the prefix's
`bin/recmesh-healthcheck`, the image's HEALTHCHECK command, finds it NOT_SERVING until
the pointer names a version and SERVING after.

What differs from the image: the third-party packages are not installed into the prefix
from PyPI (about 90 s and 800 MB for the 51 packages, measured with a cold cache on
these machines: too slow and too networked for every test run); a .pth file puts this
environment's site-packages, which `make setup` installs from requirements.lock, after
the prefix's own (its .pth files, the checkout's editable install among them, are not
read from there, so the project's code comes from the prefix alone, as the test
checks). The wheel is built without build isolation (with this environment's
setuptools, the version pyproject.toml pins); the interpreter is this machine's
CPython 3.11, not the image's; no non-root user or Docker HEALTHCHECK runs it.
test_dockerfile.py checks that requirements.lock pins every package the image installs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import pytest

from recmesh.etcd.local_server import LocalEtcd
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port
from recmesh.server.healthcheck import ADDRESS_ENV
from tests.fixtures_serving import ServingVersions
from tests.infra.dockerfile import copy_build_context
from tests.mesh_harness import serving_etcd_arguments, write_pointer
from tests.pointer_signing import serving_trust_arguments
from tests.processes import kill_if_running

_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Prefix:
    """A venv holding the project installed from its wheel, as /opt/recmesh in the image."""

    root: Path

    def bin(self, name: str) -> Path:
        return self.root / "bin" / name

    def environ(self, **extra: str) -> dict[str, str]:
        """The environment a process of the image runs in: the prefix's bin first on PATH,
        nothing pointing into the checkout."""
        environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", ADDRESS_ENV)}
        environ["PATH"] = f"{self.root / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
        return {**environ, **extra}


def _run(*command: str | Path, cwd: Path) -> None:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def prefix(tmp_path_factory: pytest.TempPathFactory) -> Prefix:
    """The project's wheel, built from the files the Dockerfile copies, installed into a
    new venv; third-party packages from this environment (see the module's docstring)."""
    work = tmp_path_factory.mktemp("image")
    context = copy_build_context(work / "context")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    offline = ["--no-deps", "--no-index"]
    _run(
        *pip, "wheel", *offline, "--no-build-isolation", "--wheel-dir", "wheels", context, cwd=work
    )
    (wheel,) = (work / "wheels").glob("recmesh-*.whl")
    root = work / "opt-recmesh"
    _run(sys.executable, "-m", "venv", "--without-pip", root, cwd=work)
    _run(*pip, "--python", root / "bin" / "python", "install", *offline, wheel, cwd=work)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(root), "platbase": str(root)}))
    assert purelib.is_dir(), purelib
    (purelib / "locked-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return Prefix(root)


def test_the_prefix_runs_the_installed_project_not_the_checkout(
    prefix: Prefix, tmp_path: Path
) -> None:
    """Every top-level package of the project is found in the prefix's site-packages
    (none in the checkout), and every entry point the image runs is in its bin/."""
    packages = ("recmesh", "services", "control_plane", "offline", "cli", "local_mesh")
    probe = (
        "import importlib.util, sys; "
        "print(*(importlib.util.find_spec(name).origin for name in sys.argv[1:]), sep='\\n')"
    )
    done = subprocess.run(
        [prefix.bin("python"), "-c", probe, *packages],
        cwd=tmp_path,
        env=prefix.environ(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.split()) == len(packages), done.stdout
    for location in done.stdout.split():
        assert Path(location).is_relative_to(prefix.root), location
        assert not Path(location).is_relative_to(REPO_ROOT), location
    for server in ("recommend", "candidates", "features", "ranking", "control-plane"):
        assert prefix.bin(f"recmesh-{server}").is_file(), server
    assert prefix.bin("recmesh-healthcheck").is_file()


def test_a_server_from_the_prefix_turns_healthy_once_it_serves_a_version(
    prefix: Prefix,
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    tmp_path: Path,
) -> None:
    """`recmesh-candidates` from the prefix: the health check (asking
    $RECMESH_HEALTH_ADDRESS, as the image's HEALTHCHECK does) exits 1 with NOT_SERVING
    while no version is named, 0 once the pointer's version is loaded; SIGTERM stops the
    server with exit 0."""
    port = free_loopback_port()
    health_env = prefix.environ(**{ADDRESS_ENV: f"127.0.0.1:{port}"})
    where = {"--port": str(port), "--artifacts": str(serving_versions.store_dir)}
    etcd = ("--etcd", etcd_server.endpoint, *serving_etcd_arguments(etcd_server))
    trust = serving_trust_arguments(tmp_path)
    log_path = tmp_path / "candidates.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [prefix.bin("recmesh-candidates"), *chain(*where.items()), *etcd, *trust],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=prefix.environ(),
        )
        try:
            first = _health_until(prefix, health_env, process, log_path, "NOT_SERVING")
            assert first.returncode == 1
            baseline = serving_versions.baseline
            asyncio.run(write_pointer(etcd_server, baseline.version_id, baseline.manifest_sha256))
            serving = _health_until(prefix, health_env, process, log_path, "SERVING")
            assert serving.returncode == 0, serving.stderr
            process.send_signal(signal.SIGTERM)
            assert process.wait(20) == 0, log_path.read_text()
        finally:
            kill_if_running(process)


def _health_until(
    prefix: Prefix,
    environ: dict[str, str],
    server: subprocess.Popen[bytes],
    log_path: Path,
    status: str,
) -> subprocess.CompletedProcess[str]:
    """Runs the prefix's recmesh-healthcheck until it reports status (the server may
    still be starting); fails with the server's log if the server exits or time runs out."""
    deadline = time.monotonic() + _TIMEOUT_S
    while True:
        done = subprocess.run(
            [prefix.bin("recmesh-healthcheck")],
            env=environ,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            cwd=log_path.parent,
        )
        if done.stderr.rstrip().endswith(f": {status}"):
            return done
        assert server.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, done.stderr + log_path.read_text()
        time.sleep(0.2)
