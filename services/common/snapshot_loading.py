"""Reads a serving version's manifest and snapshot from the artifact store, verified."""

from __future__ import annotations

from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.manifest import BundleManifest
from recmesh.snapshot.codec import snapshot_from_bytes
from recmesh.snapshot.snapshot import Snapshot


def load_manifest_and_snapshot(
    store: LocalArtifactStore, manifest_sha256: str
) -> tuple[BundleManifest, Snapshot]:
    """Both checked against their sha256 before use; raises on any mismatch or bad format."""
    manifest = BundleManifest.from_json_bytes(store.get_bytes(manifest_sha256))
    snapshot = snapshot_from_bytes(store.get_bytes(manifest.snapshot.sha256))
    return manifest, snapshot
