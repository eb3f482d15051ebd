"""Fixtures shared by every test module: a real etcd on a free loopback port, auth on."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from recmesh.etcd.local_server import LocalEtcd


@pytest.fixture
def etcd_server(tmp_path: Path) -> Iterator[LocalEtcd]:
    """A fresh single-node etcd in a temporary data dir, its auth on (passwords in
    tmp_path/etcd-credentials/etcd/), stopped by PID afterwards."""
    if shutil.which("etcd") is None:
        pytest.fail("etcd is not installed; run `make setup` (it installs etcd-server)")
    server = LocalEtcd(data_dir=tmp_path / "etcd-data")
    server.start()
    try:
        server.secure(tmp_path / "etcd-credentials")
        yield server
    finally:
        server.stop()
pytest_plugins = ["tests.fixtures_data"]
