"""A running control plane for tests, registered by tests/conftest.py as a plugin: the
control plane's own tests and the CLI's share it.

Each test gets its own installation (its own key prefix) on the session's shared etcd;
tests that stop or kill etcd use `etcd_server` (their own etcd) instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recmesh.etcd.local_server import LocalEtcd
from tests.control_plane.harness import ControlPlaneHarness, running_control_plane


@pytest.fixture
def control_plane(shared_etcd: LocalEtcd, tmp_path: Path) -> Iterator[ControlPlaneHarness]:
    """A running control plane: baseline serving, challengers A and B in the store."""
    with running_control_plane(shared_etcd, tmp_path) as harness:
        yield harness
