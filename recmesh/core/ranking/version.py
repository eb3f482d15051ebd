"""What the ranking service keeps of a serving version: its manifest and model."""

from __future__ import annotations

from dataclasses import dataclass

from recmesh.artifacts.protocol import ArtifactStore
from recmesh.bundle.manifest import BundleManifest
from recmesh.core.ranking.model import RankingModel
from recmesh.core.version_checks import load_checked_version


@dataclass(frozen=True)
class RankingVersion:
    """`model` is None for the baseline, which ranks in source order."""

    manifest: BundleManifest
    model: RankingModel | None


def load_ranking_version(store: ArtifactStore, manifest_sha256: str) -> RankingVersion:
    """Reads and verifies the whole version; raises when it must be refused."""
    manifest, _, model = load_checked_version(store, manifest_sha256)
    return RankingVersion(manifest, model)
