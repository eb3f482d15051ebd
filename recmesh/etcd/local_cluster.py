"""A three-member (or n-member) etcd cluster on loopback, for fault-injection tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from recmesh.etcd.auth_setup import secure_etcd
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.password_files import EtcdPasswordFiles, ensure_password_files
from recmesh.net.ports import free_loopback_ports


@dataclass
class LocalEtcdCluster:
    base_dir: Path
    size: int = 3
    members: list[LocalEtcd] = field(default_factory=list)
    #: The users' password files once `secure` turned auth on.
    passwords: EtcdPasswordFiles | None = None

    @property
    def endpoints(self) -> list[str]:
        return [m.endpoint for m in self.members]

    def start(self, timeout: float = 30.0) -> None:
        """Launches every member together (none is healthy before a quorum), then waits."""
        ports = free_loopback_ports(2 * self.size)
        peers = [(f"m{i}", ports[2 * i], ports[2 * i + 1]) for i in range(self.size)]
        initial = ",".join(f"{name}=http://127.0.0.1:{peer}" for name, _, peer in peers)
        self.members = [
            LocalEtcd(
                data_dir=self.base_dir / name,
                client_port=client,
                peer_port=peer,
                name=name,
                initial_cluster=initial,
            )
            for name, client, peer in peers
        ]
        for member in self.members:
            member.launch()
        for member in self.members:
            member.wait_healthy(timeout)

    def secure(self, credentials_dir: Path) -> EtcdPasswordFiles:
        """Turns the cluster's auth on (recmesh/etcd/auth_setup.py); idempotent."""
        passwords = ensure_password_files(credentials_dir)
        secure_etcd(self.endpoints, passwords)
        self.passwords = passwords
        return passwords

    def stop(self) -> None:
        for member in self.members:
            member.stop()
