"""What the features service keeps of a serving version."""

from __future__ import annotations

from dataclasses import dataclass

from recmesh.artifacts.protocol import ArtifactStore
from recmesh.bundle.manifest import BundleManifest
from recmesh.core.features.pipeline import FeaturePipeline, build_feature_pipeline
from recmesh.core.version_checks import load_checked_version
from recmesh.snapshot.snapshot import Snapshot


@dataclass(frozen=True)
class LoadedFeatures:
    manifest: BundleManifest
    snapshot: Snapshot
    pipeline: FeaturePipeline


def load_features_version(store: ArtifactStore, manifest_sha256: str) -> LoadedFeatures:
    manifest, snapshot, _ = load_checked_version(store, manifest_sha256)
    return LoadedFeatures(manifest, snapshot, build_feature_pipeline(snapshot))
