"""Who holds which certificate when the local mesh runs with mutual TLS.

Each process has its own certificate, named after the process (etcd, control_plane,
features, candidates, ranking, recommend); extra replicas use their service's. etcd
takes a client certificate's CN as its etcd user, so the control plane's certificate
has CN `recmesh-control-plane` and every serving process's `recmesh-serving`
(recmesh/etcd/users.py). The mesh's own calls (health waits; its bootstrap writes log
in to etcd with the control plane's password) present `recmesh-up`. Each demo
principal gets a client certificate whose CN the control plane maps to it, so the CLI
can act as alice, bob, dana, olga or serving over mTLS; none of those CNs (nor
`recmesh-up`, nor `etcd`) is an etcd user, so etcd refuses them.
"""

from __future__ import annotations

from pathlib import Path

from control_plane.auth.credentials import DEMO_PRINCIPALS
from local_mesh.certificates import MeshCertificates, ensure_mesh_certificates
from recmesh.etcd.users import CONTROL_PLANE_USER, SERVING_USER

ETCD = "etcd"
MESH_CLIENT = "recmesh-up"
SERVICES = ("control_plane", "features", "candidates", "ranking", "recommend")
#: The CN of each process certificate that is not its name: its etcd user.
ETCD_USER_CNS = {
    "control_plane": CONTROL_PLANE_USER,
    **{name: SERVING_USER for name in SERVICES if name != "control_plane"},
}


def ensure_mesh_identities(directory: Path) -> MeshCertificates:
    """The CA plus every process and client certificate under directory (kept when they
    exist already)."""
    return ensure_mesh_certificates(
        directory,
        processes=(ETCD, *SERVICES),
        clients=(MESH_CLIENT, *(name for name, _ in DEMO_PRINCIPALS)),
        common_names=ETCD_USER_CNS,
    )
