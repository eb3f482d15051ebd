"""What the candidates service keeps of a serving version."""

from __future__ import annotations

from dataclasses import dataclass

from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.manifest import BundleManifest
from recmesh.snapshot.snapshot import Snapshot
from services.candidates.pipeline import CandidatePipeline, build_candidate_pipeline
from services.common.snapshot_loading import load_manifest_and_snapshot


@dataclass(frozen=True)
class LoadedCandidates:
    manifest: BundleManifest
    snapshot: Snapshot
    pipeline: CandidatePipeline


def load_candidates_version(store: LocalArtifactStore, manifest_sha256: str) -> LoadedCandidates:
    manifest, snapshot = load_manifest_and_snapshot(store, manifest_sha256)
    return LoadedCandidates(manifest, snapshot, build_candidate_pipeline(snapshot))
