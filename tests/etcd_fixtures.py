"""Real etcd for tests, registered by tests/conftest.py as a plugin: the one place that
starts a single-node etcd on a free loopback port with its auth on, and stops it by PID.

`etcd_server` is a fresh etcd per test, for the tests that stop, kill or restart it.
`shared_etcd` is the one etcd of the session, shared by every test that asks for it,
each keeping to its own key prefix.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from recmesh.etcd.local_server import LocalEtcd


@contextmanager
def running_etcd(data_dir: Path, credentials_dir: Path) -> Iterator[LocalEtcd]:
    """A fresh single-node etcd in data_dir, its auth on (passwords in
    credentials_dir/etcd/), stopped by PID afterwards. Fails the test when etcd is not
    installed."""
    if shutil.which("etcd") is None:
        pytest.fail("etcd is not installed; run `make setup` (it installs etcd-server)")
    server = LocalEtcd(data_dir=data_dir)
    server.start()
    try:
        server.secure(credentials_dir)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def shared_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEtcd]:
    """One real etcd for the whole session, shared by every test that asks for it; each
    keeps to its own key prefix (data in data/, passwords in credentials/etcd/)."""
    directory = tmp_path_factory.mktemp("shared-etcd")
    with running_etcd(directory / "data", directory / "credentials") as server:
        yield server


@pytest.fixture
def etcd_server(tmp_path: Path) -> Iterator[LocalEtcd]:
    """A fresh single-node etcd in a temporary data dir, its auth on (passwords in
    tmp_path/etcd-credentials/etcd/), stopped by PID afterwards."""
    with running_etcd(tmp_path / "etcd-data", tmp_path / "etcd-credentials") as server:
        yield server
