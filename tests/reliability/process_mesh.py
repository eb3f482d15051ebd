"""The local mesh as real supervised processes, for tests that kill them.

`LocalMesh` starts etcd, the control plane and the four services, each its own
process; a background thread runs the supervisor, which restarts a dead
process without a manual step. On top of that: a second ranking replica
(`ranking-b`) and a second front (`recommend-pair`) whose `--ranking` names both
replicas, so losing one replica can be tested. The serving pointer names a real
XGBoost version, so features and ranking are on every request's path.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from local_mesh.health_wait import wait_serving
from local_mesh.layout import MeshLayout, MeshPorts
from local_mesh.local_mesh import LocalMesh
from local_mesh.specs import etcd_user_arguments, pointer_arguments
from local_mesh.supervisor import ProcessSpec, Supervisor
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.writer import WrittenBundle
from recmesh.data.loaders import load_ml100k
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port
from testkit.bundles import build_xgboost_bundle
from tests.mesh_harness import write_pointer
from tests.pointer_signing import PointerKey
from tests.services.mesh_calls import wait_for_version

#: ml-100k users, rotated by the traffic of these tests.
USERS = tuple(str(u) for u in range(1, 301))


def _addr(port: int) -> str:
    return f"127.0.0.1:{port}"


@dataclass
class ProcessMesh:
    mesh: LocalMesh
    xgboost: WrittenBundle
    ranking_b_port: int
    pair_front_port: int
    supervise_thread: threading.Thread

    @property
    def supervisor(self) -> Supervisor:
        assert self.mesh.supervisor is not None
        return self.mesh.supervisor

    @property
    def front(self) -> str:
        return _addr(self.mesh.ports.recommend)

    @property
    def pair_front(self) -> str:
        return _addr(self.pair_front_port)

    def address_of(self, name: str) -> str:
        ports = self.mesh.ports
        port = {
            "recommend": ports.recommend,
            "candidates": ports.candidates,
            "features": ports.features,
            "ranking": ports.ranking,
            "control_plane": ports.control_plane,
            "ranking-b": self.ranking_b_port,
            "recommend-pair": self.pair_front_port,
        }[name]
        return _addr(port)

    def kill9(self, name: str) -> int:
        """SIGKILLs the named process (by its pid); returns that pid."""
        pid = self.supervisor.pid_of(name)
        os.kill(pid, signal.SIGKILL)
        return pid

    def freeze(self, name: str) -> int:
        """SIGSTOPs the named process: it keeps its sockets but answers nothing."""
        pid = self.supervisor.pid_of(name)
        os.kill(pid, signal.SIGSTOP)
        return pid

    def thaw(self, pid: int) -> None:
        os.kill(pid, signal.SIGCONT)

    def wait_restarted(self, name: str, old_pid: int, within_s: float = 60.0) -> None:
        """Waits until the supervisor runs a new process for name and it is SERVING."""
        deadline = time.monotonic() + within_s
        while self.supervisor.pid_of(name) == old_pid:
            assert time.monotonic() < deadline, f"{name} was not restarted"
            time.sleep(0.05)
        left = max(deadline - time.monotonic(), 1.0)
        assert wait_serving({name: self.address_of(name)}, left) == [], f"{name} not SERVING"

    def wait_all_serving(self, within_s: float = 60.0) -> None:
        names = ("features", "candidates", "ranking", "ranking-b", "recommend", "recommend-pair")
        pending = wait_serving({n: self.address_of(n) for n in names}, within_s)
        assert pending == [], f"not SERVING: {pending}"

    def stop(self) -> None:
        self.mesh.stop()
        self.supervise_thread.join(10)


def start_process_mesh(state_dir: Path) -> ProcessMesh:
    """Starts everything, promotes a real XGBoost version, waits until both fronts serve it."""
    cache = REPO_ROOT / "var" / "data" / "ml-100k"
    if cache.is_dir():
        shutil.copytree(cache, state_dir / "data" / "ml-100k")
    ports = MeshPorts(*(free_loopback_port() for _ in range(7)))
    mesh = LocalMesh(MeshLayout(state_dir), ports)
    mesh.start()
    assert mesh.etcd is not None
    assert mesh.supervisor is not None
    thread = threading.Thread(target=mesh.supervise, name="supervisor", daemon=True)
    thread.start()
    try:
        dataset = load_ml100k(mesh.layout.data / "ml-100k")
        bundle = build_xgboost_bundle(dataset, LocalArtifactStore(mesh.layout.artifacts))
        started = ProcessMesh(mesh, bundle, free_loopback_port(), free_loopback_port(), thread)
        _start_replicas(started)
        asyncio.run(_promote(started))
    except BaseException:
        mesh.stop()
        thread.join(10)
        raise
    return started


def _start_replicas(mesh: ProcessMesh) -> None:
    layout, ports = mesh.mesh.layout, mesh.mesh.ports
    common = (
        "--etcd", _addr(ports.etcd), *etcd_user_arguments(layout, None, "ranking-b"),
        "--artifacts", str(layout.artifacts),
        "--span-file", str(layout.span_file),
    )  # fmt: skip
    python = sys.executable
    mesh.supervisor.start(
        ProcessSpec(
            "ranking-b",
            (python, "-m", "services.ranking", "--port", str(mesh.ranking_b_port),
             "--features", _addr(ports.features), *common,
             *pointer_arguments(layout, "ranking-b")),
            layout.logs / "ranking-b.log",
        )
    )  # fmt: skip
    mesh.supervisor.start(
        ProcessSpec(
            "recommend-pair",
            (python, "-m", "services.recommend", "--port", str(mesh.pair_front_port),
             "--candidates", _addr(ports.candidates),
             "--ranking", f"{_addr(ports.ranking)},{_addr(mesh.ranking_b_port)}",
             "--impressions", str(layout.state_dir / "impressions-pair.jsonl"), *common,
             *pointer_arguments(layout, "recommend-pair")),
            layout.logs / "recommend-pair.log",
        )
    )  # fmt: skip


async def _promote(mesh: ProcessMesh) -> None:
    assert mesh.mesh.etcd is not None
    bundle = mesh.xgboost
    await write_pointer(
        mesh.mesh.etcd,
        bundle.version_id,
        bundle.manifest_sha256,
        key=PointerKey.from_file(mesh.mesh.layout.pointer_signing_key),
    )
    await asyncio.to_thread(mesh.wait_all_serving)
    await wait_for_version(mesh.front, bundle.version_id, within_s=60)
    await wait_for_version(mesh.pair_front, bundle.version_id, within_s=60)
