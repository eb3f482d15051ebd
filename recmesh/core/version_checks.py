"""The checks every serving process applies before it accepts a version.

All four services refuse exactly the same versions: each reads and verifies
every artifact the manifest names, parses and probes the model, and compares
the model's feature schema with the one the feature code computes. So the
front never switches to a version that ranking or features would refuse.
"""

from __future__ import annotations

from recmesh.artifacts.protocol import ArtifactStore
from recmesh.bundle.manifest import BundleManifest
from recmesh.core.features.pipeline import build_feature_pipeline
from recmesh.core.ranking.model import RankingModel, load_ranking_model
from recmesh.snapshot.codec import snapshot_from_bytes
from recmesh.snapshot.snapshot import Snapshot


class FeatureSchemaMismatchError(ValueError):
    """The version expects features this code does not compute."""


def load_checked_version(
    store: ArtifactStore, manifest_sha256: str
) -> tuple[BundleManifest, Snapshot, RankingModel | None]:
    """Manifest, snapshot and model (None for the baseline), every one verified; raises
    (checksum, format, schema, refused model) when the version must not serve."""
    manifest = BundleManifest.from_json_bytes(store.get_bytes(manifest_sha256))
    snapshot = snapshot_from_bytes(store.get_bytes(manifest.snapshot.sha256))
    model = None
    if manifest.model is not None:
        model = load_ranking_model(
            store.get_bytes(manifest.model.sha256),
            manifest.feature_names,
            manifest.feature_schema_fingerprint,
        )
    schema = build_feature_pipeline(snapshot).schema
    if manifest.feature_schema_fingerprint != schema.fingerprint:
        raise FeatureSchemaMismatchError(
            f"the version's feature schema {manifest.feature_schema_fingerprint[:12]} "
            f"({len(manifest.feature_names)} features) is not the one the features service "
            f"computes ({schema.fingerprint[:12]}, {len(schema.names)} features)"
        )
    return manifest, snapshot, model
