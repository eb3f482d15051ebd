"""What the candidates service keeps of a serving version."""

from __future__ import annotations

from dataclasses import dataclass

from recmesh.artifacts.protocol import ArtifactStore
from recmesh.bundle.manifest import BundleManifest
from recmesh.core.candidates.pipeline import CandidatePipeline, build_candidate_pipeline
from recmesh.core.version_checks import load_checked_version
from recmesh.snapshot.snapshot import Snapshot


@dataclass(frozen=True)
class LoadedCandidates:
    manifest: BundleManifest
    snapshot: Snapshot
    pipeline: CandidatePipeline


def load_candidates_version(store: ArtifactStore, manifest_sha256: str) -> LoadedCandidates:
    manifest, snapshot, _ = load_checked_version(store, manifest_sha256)
    return LoadedCandidates(manifest, snapshot, build_candidate_pipeline(snapshot))
