"""The baseline serving version: popularity and source order, no model.

Built from the whole dataset so a fresh install answers at once; its feature
schema is the one the features service computes, so the features service
accepts it like any other version.
"""

from __future__ import annotations

from recmesh.artifacts.protocol import ArtifactStore
from recmesh.bundle.writer import WrittenBundle, write_bundle
from recmesh.core.features.pipeline import build_feature_pipeline
from recmesh.data.dataset import Dataset
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.codec import snapshot_to_bytes
from recmesh.snapshot.config import SnapshotConfig


def build_baseline_bundle(
    dataset: Dataset, store: ArtifactStore, config: SnapshotConfig | None = None
) -> WrittenBundle:
    snapshot = build_snapshot(dataset, dataset.interactions, config or SnapshotConfig())
    schema = build_feature_pipeline(snapshot).schema
    return write_bundle(
        store,
        snapshot_bytes=snapshot_to_bytes(snapshot),
        model_bytes=None,
        feature_names=schema.names,
        feature_schema_fingerprint=schema.fingerprint,
        dataset_name=dataset.name,
        dataset_fingerprint=dataset.fingerprint,
    )
