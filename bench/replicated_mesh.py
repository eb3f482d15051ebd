"""The local mesh with every serving service run as several replicas, each with /metrics.

The same processes as `LocalMesh` (etcd, the control plane, the four services,
with the command lines local_mesh/specs.py builds), except that each serving
service runs `replicas_per_service` times on its own ports, every caller names all replicas
of its downstream (client-side round robin), and every serving replica exposes
its Prometheus metrics, where `recmesh_serving_version_loaded` names the version
it serves. The control plane starts first and the serving replicas only on
`start_serving()`, so a caller can use the control plane alone in between.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field

from control_plane.auth.credentials import CredentialFiles
from local_mesh.bootstrap import (
    ensure_baseline_serving,
    ensure_credentials,
    ensure_pointer_key,
)
from local_mesh.health_wait import wait_serving
from local_mesh.layout import MeshPorts
from local_mesh.local_mesh import LocalMesh, MeshStartError, _child_environ
from local_mesh.specs import service_specs
from local_mesh.supervisor import ProcessSpec, Supervisor
from recmesh.etcd.local_server import LocalEtcd
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port, free_loopback_ports

#: Leaf services first, so each replica finds its downstream listening.
SERVING_SERVICES = ("features", "candidates", "ranking", "recommend")
#: The option of each service that names a downstream service's replicas.
DOWNSTREAM_OPTIONS = {
    "features": "--features",
    "candidates": "--candidates",
    "ranking": "--ranking",
}
CONTROL_PLANE = "control_plane"


@dataclass(frozen=True)
class Replica:
    """One serving process: `name` is "<service>-<n>", n counting from 1."""

    service: str
    name: str
    port: int
    metrics_port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def replace_options(argv: tuple[str, ...], values: Mapping[str, str]) -> tuple[str, ...]:
    """argv with the value after each option of `values` replaced; options argv does not
    have are left out."""
    out = list(argv)
    for option, value in values.items():
        if option in out:
            out[out.index(option) + 1] = value
    return tuple(out)


def free_mesh_ports() -> MeshPorts:
    return MeshPorts(*free_loopback_ports(7))


@dataclass
class ReplicatedMesh(LocalMesh):
    """A LocalMesh (plaintext only) whose serving services run as replicas; `ports` are
    etcd's and the control plane's (the replicas pick free ones)."""

    ports: MeshPorts = field(default_factory=free_mesh_ports)
    replicas_per_service: int = 2
    credentials: CredentialFiles | None = None
    replicas: tuple[Replica, ...] = ()

    @property
    def control_plane_address(self) -> str:
        return f"127.0.0.1:{self.ports.control_plane}"

    def replicas_of(self, service: str) -> tuple[Replica, ...]:
        return tuple(r for r in self.replicas if r.service == service)

    def start(self) -> None:
        self.start_control_plane()
        self.start_serving()

    def start_control_plane(self) -> None:
        """etcd, the dataset (from var/data when cached), credentials, the baseline serving
        version, and the control plane, SERVING when this returns."""
        assert self.tls_dir is None, "a ReplicatedMesh runs in plaintext"
        cache = REPO_ROOT / "var" / "data" / "ml-100k"
        if cache.is_dir() and not (self.layout.data / "ml-100k").exists():
            shutil.copytree(cache, self.layout.data / "ml-100k")
        self.etcd = LocalEtcd(
            data_dir=self.layout.etcd_data,
            client_port=self.ports.etcd,
            peer_port=self.ports.etcd_peer,
            log_path=self.layout.logs / "etcd.log",
        )
        self.etcd.start()
        passwords = self.etcd.secure(self.layout.credentials)
        self.credentials = ensure_credentials(self.layout)
        ensure_pointer_key(self.layout)
        ensure_baseline_serving(
            self.layout, self.etcd.endpoint, self.dataset, credentials=passwords.control_plane
        )
        self.supervisor = Supervisor(environ=_child_environ())
        self.supervisor.start(self._specs()[CONTROL_PLANE])
        self._wait_serving({CONTROL_PLANE: self.control_plane_address})

    def start_serving(self) -> None:
        """Every replica of every serving service, SERVING when this returns."""
        assert self.supervisor is not None, "start_control_plane() first"
        self.replicas = tuple(
            Replica(service, f"{service}-{n}", free_loopback_port(), free_loopback_port())
            for service in SERVING_SERVICES
            for n in range(1, self.replicas_per_service + 1)
        )
        specs = self._specs()
        for replica in self.replicas:
            self.supervisor.start(self._replica_spec(specs[replica.service], replica))
        self._wait_serving({r.name: r.address for r in self.replicas})

    def _specs(self) -> dict[str, ProcessSpec]:
        assert self.credentials is not None
        specs = service_specs(self.layout, self.ports, str(self.credentials.principals))
        return {spec.name: spec for spec in specs}

    def _replica_spec(self, spec: ProcessSpec, replica: Replica) -> ProcessSpec:
        """The service's command line on the replica's port, naming every replica of each
        downstream service, with its own impressions file (fronts) and a /metrics port."""
        values = {
            option: ",".join(r.address for r in self.replicas_of(downstream))
            for downstream, option in DOWNSTREAM_OPTIONS.items()
        }
        values["--port"] = str(replica.port)
        values["--impressions"] = str(self.layout.state_dir / f"impressions-{replica.name}.jsonl")
        values["--state-dir"] = str(self.layout.serving_state(replica.name))
        argv = replace_options(spec.argv, values)
        return ProcessSpec(
            replica.name,
            (*argv, "--metrics-port", str(replica.metrics_port)),
            self.layout.logs / f"{replica.name}.log",
            spec.env,
        )

    def _wait_serving(self, addresses: dict[str, str]) -> None:
        not_serving = wait_serving(addresses, self.start_timeout_s)
        if not_serving:
            logs = ", ".join(str(self.layout.logs / f"{n}.log") for n in not_serving)
            self.stop()
            raise MeshStartError(f"not SERVING in time: {', '.join(not_serving)}; see {logs}")
