"""Fixtures of the control plane tests: one etcd for the session, one installation per test.

Tests that stop or kill etcd use the root `etcd_server` fixture (their own etcd)
instead of `shared_etcd`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recmesh.etcd.local_server import LocalEtcd
from tests.control_plane.harness import ControlPlaneHarness, running_control_plane
from tests.etcd_fixtures import session_etcd

#: A real etcd shared by the session's control plane tests (each uses its own prefix).
shared_etcd = session_etcd("control-plane-etcd")


@pytest.fixture
def control_plane(shared_etcd: LocalEtcd, tmp_path: Path) -> Iterator[ControlPlaneHarness]:
    """A running control plane: baseline serving, challengers A and B in the store."""
    with running_control_plane(shared_etcd, tmp_path) as harness:
        yield harness
