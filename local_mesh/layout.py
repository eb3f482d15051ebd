"""Where the local mesh keeps its state, and the ports it uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from control_plane.signing_key import PUBLIC_KEY_FILE, SIGNING_KEY_FILE
from recmesh.etcd.password_files import PASSWORDS_DIR, EtcdPasswordFiles


@dataclass(frozen=True)
class MeshPorts:
    recommend: int = 50051
    candidates: int = 50052
    features: int = 50053
    ranking: int = 50054
    control_plane: int = 50055
    etcd: int = 2379
    etcd_peer: int = 2380


@dataclass(frozen=True)
class MeshLayout:
    """Every path of one local mesh under its state directory."""

    state_dir: Path

    @property
    def etcd_data(self) -> Path:
        return self.state_dir / "etcd"

    @property
    def artifacts(self) -> Path:
        return self.state_dir / "artifacts"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def span_file(self) -> Path:
        return self.state_dir / "spans.jsonl"

    @property
    def impressions(self) -> Path:
        return self.state_dir / "impressions.jsonl"

    @property
    def interactions(self) -> Path:
        """The interaction log directory the front appends to (see recmesh.interactions)."""
        return self.state_dir / "interactions"

    @property
    def credentials(self) -> Path:
        return self.state_dir / "credentials"

    @property
    def data(self) -> Path:
        return self.state_dir / "data"

    @property
    def etcd_passwords(self) -> EtcdPasswordFiles:
        """One password file per etcd user (recmesh/etcd/users.py), mode 0600."""
        return EtcdPasswordFiles(self.credentials / PASSWORDS_DIR)

    @property
    def pointer_signing_key(self) -> Path:
        """The control plane's private key for pointer records (made by `recmesh up`)."""
        return self.credentials / SIGNING_KEY_FILE

    @property
    def pointer_public_key(self) -> Path:
        """What every serving process verifies pointer records with."""
        return self.credentials / PUBLIC_KEY_FILE

    def serving_state(self, process: str) -> Path:
        """One serving process's own state directory (its last accepted pointer record)."""
        return self.state_dir / "serving-state" / process
