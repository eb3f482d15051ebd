"""What the features service keeps of a serving version.

A version whose manifest declares a feature schema other than the one this
code computes is refused at load: its model would be fed the wrong columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.manifest import BundleManifest
from recmesh.snapshot.snapshot import Snapshot
from services.common.snapshot_loading import load_manifest_and_snapshot
from services.features.pipeline import FeaturePipeline, build_feature_pipeline


class FeatureSchemaMismatchError(ValueError):
    """The version expects features this service does not compute."""


@dataclass(frozen=True)
class LoadedFeatures:
    manifest: BundleManifest
    snapshot: Snapshot
    pipeline: FeaturePipeline


def load_features_version(store: LocalArtifactStore, manifest_sha256: str) -> LoadedFeatures:
    manifest, snapshot = load_manifest_and_snapshot(store, manifest_sha256)
    pipeline = build_feature_pipeline(snapshot)
    if manifest.feature_schema_fingerprint != pipeline.schema.fingerprint:
        raise FeatureSchemaMismatchError(
            f"the version's feature schema {manifest.feature_schema_fingerprint[:12]} "
            f"({len(manifest.feature_names)} features) is not the one this service computes "
            f"({pipeline.schema.fingerprint[:12]}, {len(pipeline.schema.names)} features)"
        )
    return LoadedFeatures(manifest, snapshot, pipeline)
