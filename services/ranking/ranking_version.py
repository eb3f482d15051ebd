"""What the ranking service keeps of a serving version: its manifest and model."""

from __future__ import annotations

from dataclasses import dataclass

from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.manifest import BundleManifest
from services.ranking.model import RankingModel, load_ranking_model


@dataclass(frozen=True)
class RankingVersion:
    """`model` is None for the baseline, which ranks in source order."""

    manifest: BundleManifest
    model: RankingModel | None


def load_ranking_version(store: LocalArtifactStore, manifest_sha256: str) -> RankingVersion:
    """Reads and verifies the manifest and model; raises when either must be refused."""
    manifest = BundleManifest.from_json_bytes(store.get_bytes(manifest_sha256))
    if manifest.model is None:
        return RankingVersion(manifest, None)
    model = load_ranking_model(
        store.get_bytes(manifest.model.sha256),
        manifest.feature_names,
        manifest.feature_schema_fingerprint,
    )
    return RankingVersion(manifest, model)
