"""Writes a serving version's artifacts and manifest into an artifact store."""

from __future__ import annotations

from dataclasses import dataclass

from recmesh.artifacts.protocol import ArtifactStore
from recmesh.bundle.manifest import (
    KIND_BASELINE,
    KIND_XGBOOST,
    BlobRef,
    BundleManifest,
    version_id_of,
)


@dataclass(frozen=True)
class WrittenBundle:
    manifest: BundleManifest
    manifest_sha256: str
    version_id: str


def write_bundle(
    store: ArtifactStore,
    *,
    snapshot_bytes: bytes,
    model_bytes: bytes | None,
    feature_names: tuple[str, ...],
    feature_schema_fingerprint: str,
    dataset_name: str,
    dataset_fingerprint: str,
    training_dataset_fingerprint: str = "",
) -> WrittenBundle:
    """Stores snapshot, model (None for the baseline) and manifest; returns the version."""
    snapshot = store.put_bytes(snapshot_bytes)
    model = None if model_bytes is None else store.put_bytes(model_bytes)
    manifest = BundleManifest(
        kind=KIND_BASELINE if model is None else KIND_XGBOOST,
        snapshot=BlobRef(snapshot.sha256, snapshot.size_bytes),
        model=None if model is None else BlobRef(model.sha256, model.size_bytes),
        feature_names=feature_names,
        feature_schema_fingerprint=feature_schema_fingerprint,
        dataset_name=dataset_name,
        dataset_fingerprint=dataset_fingerprint,
        training_dataset_fingerprint=training_dataset_fingerprint,
    )
    stored = store.put_bytes(manifest.to_json_bytes())
    return WrittenBundle(manifest, stored.sha256, version_id_of(stored.sha256))
