"""Serving versions for tests, registered by tests/conftest.py as a plugin: the baseline
and a trained XGBoost version of ml-100k in one shared, content-addressed artifact store,
built once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.writer import WrittenBundle
from recmesh.data.dataset import Dataset
from testkit.bundles import build_baseline_bundle, build_xgboost_bundle


@dataclass(frozen=True)
class ServingVersions:
    store_dir: Path
    baseline: WrittenBundle
    xgboost: WrittenBundle


@pytest.fixture(scope="session")
def serving_versions(ml100k: Dataset, tmp_path_factory: pytest.TempPathFactory) -> ServingVersions:
    """The baseline and a trained XGBoost version of ml-100k, built once per session."""
    root = tmp_path_factory.mktemp("artifacts")
    store = LocalArtifactStore(root)
    return ServingVersions(
        root, build_baseline_bundle(ml100k, store), build_xgboost_bundle(ml100k, store)
    )
