"""Fixtures of the control plane tests: one etcd for the session, one installation per test.

Tests that stop or kill etcd use the root `etcd_server` fixture (their own etcd)
instead of `shared_etcd`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from recmesh.etcd.local_server import LocalEtcd
from tests.control_plane.harness import ControlPlaneHarness, running_control_plane


@pytest.fixture(scope="session")
def shared_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEtcd]:
    """A real etcd shared by the session's control plane tests (each uses its own prefix)."""
    if shutil.which("etcd") is None:
        pytest.fail("etcd is not installed; run `make setup` (it installs etcd-server)")
    directory = tmp_path_factory.mktemp("control-plane-etcd")
    server = LocalEtcd(data_dir=directory / "data")
    server.start()
    try:
        server.secure(directory / "credentials")
        yield server
    finally:
        server.stop()


@pytest.fixture
def control_plane(shared_etcd: LocalEtcd, tmp_path: Path) -> Iterator[ControlPlaneHarness]:
    """A running control plane: baseline serving, challengers A and B in the store."""
    with running_control_plane(shared_etcd, tmp_path) as harness:
        yield harness
