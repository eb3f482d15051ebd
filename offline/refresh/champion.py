"""The serving version a refresh starts from, read back from the artifact store."""

from __future__ import annotations

from dataclasses import dataclass

from offline.refresh.errors import RefreshError
from recmesh.artifacts.errors import ArtifactError
from recmesh.artifacts.protocol import ArtifactStore
from recmesh.bundle.manifest import BundleFormatError, BundleManifest
from recmesh.core.ranking.model import ModelRefusedError, RankingModel, load_ranking_model
from recmesh.snapshot.codec import snapshot_from_bytes
from recmesh.snapshot.errors import SnapshotFormatError
from recmesh.snapshot.snapshot import Snapshot


@dataclass(frozen=True)
class ServingBundle:
    """The champion's manifest, snapshot and model: bytes (kept verbatim for the refresh)
    and the checked model (None for a baseline)."""

    manifest: BundleManifest
    snapshot: Snapshot
    model_bytes: bytes | None
    model: RankingModel | None


def read_serving_bundle(store: ArtifactStore, manifest_sha256: str) -> ServingBundle:
    try:
        manifest = BundleManifest.from_json_bytes(store.get_bytes(manifest_sha256))
        snapshot = snapshot_from_bytes(store.get_bytes(manifest.snapshot.sha256))
        model_bytes = model = None
        if manifest.model is not None:
            model_bytes = store.get_bytes(manifest.model.sha256)
            model = load_ranking_model(
                model_bytes, manifest.feature_names, manifest.feature_schema_fingerprint
            )
    except (ArtifactError, BundleFormatError, SnapshotFormatError, ModelRefusedError) as exc:
        raise RefreshError(
            f"cannot read the serving version's bundle (manifest "
            f"{store.uri_of(manifest_sha256)}): {exc}"
        ) from exc
    return ServingBundle(manifest, snapshot, model_bytes, model)
