"""The whole local mesh on loopback: etcd, the control plane and the four services.

`recmesh up`, `make demo`, the benchmarks and the fault-injection tests all
start the mesh through this class, so there is one way it is put together:

1. etcd (infra/etcd/run-etcd.sh) in the state dir;
2. the dataset (ml-100k by default), fetched and verified;
3. demo credentials for the control plane and its pointer signing key, created once
   (serving processes get the public key and a state directory each);
4. on first start, the baseline serving version (popularity and source order,
   no model) built from the dataset, registered, and set as the first serving
   pointer with an audit entry;
5. every server as its own supervised process, leaf services first;
6. wait until every server reports SERVING.

With `tls_dir`, a CA and a certificate per process and client are made there first
(local_mesh/identities.py), and every connection (etcd's included) is mutual TLS.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from local_mesh.bootstrap import ensure_baseline_serving, ensure_credentials, ensure_pointer_key
from local_mesh.certificates import MeshCertificates
from local_mesh.health_wait import wait_serving
from local_mesh.identities import ETCD, MESH_CLIENT, ensure_mesh_identities
from local_mesh.layout import MeshLayout, MeshPorts
from local_mesh.specs import service_addresses, service_specs
from local_mesh.supervisor import Supervisor
from recmesh.etcd.local_server import LocalEtcd
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.rpc.tls import TlsFiles

log = structlog.get_logger("recmesh.mesh")


class MeshStartError(RuntimeError):
    """A process of the mesh did not come up; the message names it and its log."""


@dataclass
class LocalMesh:
    layout: MeshLayout
    ports: MeshPorts = field(default_factory=MeshPorts)
    dataset: str = "ml-100k"
    start_timeout_s: float = 90.0
    #: Where the CA and certificates live; None runs everything in plaintext.
    tls_dir: Path | None = None
    etcd: LocalEtcd | None = None
    supervisor: Supervisor | None = None
    certificates: MeshCertificates | None = None
    #: The serving processes' --min-pointer-sequence (the pointer's sequence at start).
    min_pointer_sequence: int = 0

    @property
    def client_tls(self) -> TlsFiles | None:
        """What the mesh's own calls present (None without TLS)."""
        return None if self.certificates is None else self.certificates.files(MESH_CLIENT)

    def start(self) -> None:
        """Starts everything and waits until every server is SERVING. When any step
        fails, every process started so far (etcd included) is stopped first, and the
        error is a MeshStartError naming the step."""
        stage = _Stage()
        try:
            self._start(stage)
        except BaseException as exc:
            self.stop()
            if isinstance(exc, MeshStartError) or not isinstance(exc, Exception):
                raise
            raise MeshStartError(f"{stage.now} failed: {type(exc).__name__}: {exc}") from exc

    def _start(self, stage: _Stage) -> None:
        self.layout.state_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        if self.tls_dir is not None:
            stage.now = f"making the certificates in {self.tls_dir}"
            self.certificates = ensure_mesh_identities(self.tls_dir)
        stage.now = "starting etcd"
        self.etcd = LocalEtcd(
            data_dir=self.layout.etcd_data,
            client_port=self.ports.etcd,
            peer_port=self.ports.etcd_peer,
            log_path=self.layout.logs / "etcd.log",
            tls=None if self.certificates is None else self.certificates.files(ETCD),
        )
        self.etcd.start()
        log.info("etcd_ready", endpoint=self.etcd.endpoint, mtls=self.certificates is not None)
        stage.now = "turning etcd's auth on"
        passwords = self.etcd.secure(self.layout.credentials)
        stage.now = "making the credentials"
        credentials = ensure_credentials(self.layout)
        ensure_pointer_key(self.layout)
        stage.now = "setting up the baseline serving version"
        pointer = ensure_baseline_serving(
            self.layout,
            self.etcd.endpoint,
            self.dataset,
            tls=self.client_tls,
            credentials=passwords.control_plane,
        )
        # The pointer's sequence now is every serving process's floor: one with no state
        # yet (a first start, a lost state dir) refuses any older record written back.
        self.min_pointer_sequence = 0 if pointer is None else pointer.sequence
        log.info(
            "baseline_serving",
            version=None if pointer is None else pointer.serving_version,
            min_pointer_sequence=self.min_pointer_sequence,
        )
        stage.now = "starting the services"
        self.supervisor = Supervisor(environ=_child_environ())
        specs = service_specs(
            self.layout,
            self.ports,
            str(credentials.principals),
            self.certificates,
            min_pointer_sequence=self.min_pointer_sequence,
        )
        for spec in specs:
            self.supervisor.start(spec)
        remaining = self.start_timeout_s - (time.monotonic() - started)
        not_serving = wait_serving(
            service_addresses(self.ports), max(remaining, 5.0), tls=self.client_tls
        )
        if not_serving:
            logs = ", ".join(str(self.layout.logs / f"{n}.log") for n in not_serving)
            raise MeshStartError(f"not SERVING in time: {', '.join(not_serving)}; see {logs}")
        log.info("mesh_serving", seconds=round(time.monotonic() - started, 1))

    def supervise(self) -> None:
        assert self.supervisor is not None
        self.supervisor.supervise()

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        if self.etcd is not None:
            self.etcd.stop()
            self.etcd = None


@dataclass
class _Stage:
    """What `LocalMesh.start` is doing now, for the error when it fails."""

    now: str = "starting"


def _child_environ() -> dict[str, str]:
    env = dict(os.environ)
    # One thread per process for numpy/xgboost: the mesh runs five processes on two cores.
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env
