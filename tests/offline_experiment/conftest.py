"""Fixtures of the experiment tests: one etcd for the module set, one installation per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from recmesh.data.dataset import Dataset
from recmesh.etcd.local_server import LocalEtcd
from tests.offline_experiment.installation import Installation, running_installation


@pytest.fixture(scope="session")
def experiment_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEtcd]:
    """A real etcd shared by the experiment tests (each installation uses its own prefix)."""
    if shutil.which("etcd") is None:
        pytest.fail("etcd is not installed; run `make setup` (it installs etcd-server)")
    directory = tmp_path_factory.mktemp("experiment-etcd")
    server = LocalEtcd(data_dir=directory / "data")
    server.start()
    try:
        server.secure(directory / "credentials")
        yield server
    finally:
        server.stop()


@pytest.fixture
def installation(
    experiment_etcd: LocalEtcd, tmp_path: Path, ml100k: Dataset
) -> Iterator[Installation]:
    """A running control plane whose champion is a real baseline bundle of ml-100k."""
    with running_installation(experiment_etcd, tmp_path, ml100k) as running:
        yield running
