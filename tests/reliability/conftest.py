"""Fixtures of the reliability tests: one supervised multi-process mesh for the
process-fault tests (the session's serving versions come from tests/fixtures_serving.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.process_mesh import ProcessMesh, start_process_mesh


@pytest.fixture(scope="session")
def process_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessMesh]:
    """LocalMesh (etcd, control plane, four services as supervised processes) serving a
    real XGBoost version, plus a second ranking replica and a second front over both."""
    mesh = start_process_mesh(Path(tmp_path_factory.mktemp("process-mesh")))
    try:
        yield mesh
    finally:
        mesh.stop()
