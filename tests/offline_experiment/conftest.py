"""Fixtures of the experiment tests: one etcd for the module set, one installation per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recmesh.data.dataset import Dataset
from recmesh.etcd.local_server import LocalEtcd
from tests.etcd_fixtures import session_etcd
from tests.offline_experiment.installation import Installation, running_installation

#: A real etcd shared by the experiment tests (each installation uses its own prefix).
experiment_etcd = session_etcd("experiment-etcd")


@pytest.fixture
def installation(
    experiment_etcd: LocalEtcd, tmp_path: Path, ml100k: Dataset
) -> Iterator[Installation]:
    """A running control plane whose champion is a real baseline bundle of ml-100k."""
    with running_installation(experiment_etcd, tmp_path, ml100k) as running:
        yield running
