"""Who holds which certificate when the local mesh runs with mutual TLS.

Each process has its own certificate, named after the process (etcd, control_plane,
features, candidates, ranking, recommend); extra replicas use their service's. The
mesh's own calls (bootstrap writes to etcd, health waits) present `recmesh-up`. Each
demo principal gets a client certificate whose CN the control plane maps to it, so
the CLI can act as alice, bob, dana, olga or serving over mTLS.
"""

from __future__ import annotations

from pathlib import Path

from control_plane.auth.credentials import DEMO_PRINCIPALS
from recmesh.mesh.certificates import MeshCertificates, ensure_mesh_certificates

ETCD = "etcd"
MESH_CLIENT = "recmesh-up"
SERVICES = ("control_plane", "features", "candidates", "ranking", "recommend")


def ensure_mesh_identities(directory: Path) -> MeshCertificates:
    """The CA plus every process and client certificate under directory (kept when they
    exist already)."""
    return ensure_mesh_certificates(
        directory,
        processes=(ETCD, *SERVICES),
        clients=(MESH_CLIENT, *(name for name, _ in DEMO_PRINCIPALS)),
    )
