"""The etcd users and roles of a recmesh installation, and what each may touch.

| user | role | permission |
| --- | --- | --- |
| `root` | root | everything; used only to set up users and roles (`auth_setup.py`) |
| `recmesh-control-plane` | `recmesh-control-plane` | read-write on `{prefix}/` |
| `recmesh-serving` | `recmesh-serving` | read `{prefix}/serving/pointer`, write `rollout_arms/` |

The serving role writes one thing: a front's counts per arm of a staged rollout
(recmesh/rollout/arm_counts.py), under `{prefix}/rollout_arms/`.

No other user exists. With mutual TLS etcd takes a client certificate's CN as its
user, so the control plane's certificate has CN `recmesh-control-plane`, every
serving process's `recmesh-serving` (local_mesh/identities.py), and the
certificates of people (alice, olga, ...) carry CNs that are no etcd user.
"""

from __future__ import annotations

from dataclasses import dataclass

from recmesh.etcd.keys import KeySchema, prefix_range_end

ROOT_USER = "root"
CONTROL_PLANE_USER = "recmesh-control-plane"
SERVING_USER = "recmesh-serving"
#: Every user recmesh creates, root first.
USERS = (ROOT_USER, CONTROL_PLANE_USER, SERVING_USER)


@dataclass(frozen=True)
class KeyGrant:
    """A permission of one role: `key` alone (range_end empty) or [key, range_end)."""

    role: str
    key: str
    range_end: str
    write: bool


def installation_grants(prefix: str) -> tuple[KeyGrant, ...]:
    """The permissions the non-root roles hold on the installation rooted at prefix.
    Each user's role is named after the user."""
    root = prefix.rstrip("/") + "/"
    keys = KeySchema(prefix.rstrip("/"))
    arms = keys.rollout_arms_root
    return (
        KeyGrant(CONTROL_PLANE_USER, root, prefix_range_end(root), write=True),
        KeyGrant(SERVING_USER, keys.pointer, "", write=False),
        # Fronts write their counts per arm here; the control plane sums them.
        KeyGrant(SERVING_USER, arms, prefix_range_end(arms), write=True),
    )
