"""Fixtures of the experiment tests: one installation per test, on the session's shared
etcd (each installation uses its own prefix)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recmesh.data.dataset import Dataset
from recmesh.etcd.local_server import LocalEtcd
from tests.offline.experiment.installation import Installation, running_installation


@pytest.fixture
def installation(
    shared_etcd: LocalEtcd, tmp_path: Path, ml100k: Dataset
) -> Iterator[Installation]:
    """A running control plane whose champion is a real baseline bundle of ml-100k."""
    with running_installation(shared_etcd, tmp_path, ml100k) as running:
        yield running
