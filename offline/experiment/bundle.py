"""Serving bundles offline: the challenger's made in memory, the champion's read back.

The challenger's serving bundle is its trained model (the exact bytes evaluated)
with a snapshot of every interaction the experiment saw, TRAIN and TEST: the model
was trained and evaluated on TRAIN alone, but what serves must know each user's
whole history, or it recommends what they already rated. The manifest names both
files by sha256 and records both datasets' fingerprints; the runner uploads the
three files through the control plane. The champion's bundle is read
from the artifact store the control plane writes, by the manifest sha256 its
ModelVersion names, and its model is loaded with the serving model checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from recmesh.artifacts.errors import ArtifactError
from recmesh.artifacts.protocol import ArtifactStore
from recmesh.artifacts.store import sha256_hex
from recmesh.bundle.manifest import (
    KIND_BASELINE,
    KIND_XGBOOST,
    BlobRef,
    BundleFormatError,
    BundleManifest,
    version_id_of,
)
from recmesh.core.ranking.model import ModelRefusedError, RankingModel, load_ranking_model
from recmesh.snapshot.codec import snapshot_from_bytes, snapshot_to_bytes
from recmesh.snapshot.config import SnapshotConfig
from recmesh.snapshot.errors import SnapshotFormatError
from recmesh.snapshot.snapshot import Snapshot


class ChampionBundleError(Exception):
    """The champion's bundle cannot be evaluated offline; the message says why."""


@dataclass(frozen=True)
class BundleFiles:
    """A bundle's three files and its identity; `model_bytes` None for a baseline."""

    snapshot_bytes: bytes
    model_bytes: bytes | None
    manifest: BundleManifest
    manifest_bytes: bytes

    @property
    def manifest_sha256(self) -> str:
        return sha256_hex(self.manifest_bytes)

    @property
    def version_id(self) -> str:
        return version_id_of(self.manifest_sha256)

    def files(self) -> tuple[tuple[str, bytes], ...]:
        """(role, bytes) in upload order: the manifest last, after what it names."""
        named = [("snapshot", self.snapshot_bytes)]
        if self.model_bytes is not None:
            named.append(("model", self.model_bytes))
        named.append(("manifest", self.manifest_bytes))
        return tuple(named)


def make_bundle(
    snapshot: Snapshot,
    model_bytes: bytes | None,
    feature_names: tuple[str, ...],
    schema_fingerprint: str,
    training_dataset_fingerprint: str = "",
) -> BundleFiles:
    """The bundle of a snapshot and a model (None: a baseline bundle) trained on the
    interactions whose fingerprint is `training_dataset_fingerprint`."""
    snapshot_bytes = snapshot_to_bytes(snapshot)
    manifest = BundleManifest(
        kind=KIND_BASELINE if model_bytes is None else KIND_XGBOOST,
        snapshot=BlobRef(sha256_hex(snapshot_bytes), len(snapshot_bytes)),
        model=None
        if model_bytes is None
        else BlobRef(sha256_hex(model_bytes), len(model_bytes)),
        feature_names=feature_names,
        feature_schema_fingerprint=schema_fingerprint,
        dataset_name=snapshot.dataset_name,
        dataset_fingerprint=snapshot.dataset_fingerprint,
        training_dataset_fingerprint=training_dataset_fingerprint,
    )
    return BundleFiles(snapshot_bytes, model_bytes, manifest, manifest.to_json_bytes())


@dataclass(frozen=True)
class ChampionBundle:
    """What the champion serves: its snapshot settings and its model (None: baseline)."""

    manifest: BundleManifest
    snapshot_config: SnapshotConfig
    model: RankingModel | None


def read_champion(store: ArtifactStore, manifest_sha256: str) -> ChampionBundle:
    """Reads and checks the champion's manifest, snapshot and model from the store."""
    try:
        manifest = BundleManifest.from_json_bytes(store.get_bytes(manifest_sha256))
        snapshot = snapshot_from_bytes(store.get_bytes(manifest.snapshot.sha256))
        model = None
        if manifest.model is not None:
            model = load_ranking_model(
                store.get_bytes(manifest.model.sha256),
                manifest.feature_names,
                manifest.feature_schema_fingerprint,
            )
    except (ArtifactError, BundleFormatError, SnapshotFormatError, ModelRefusedError) as exc:
        raise ChampionBundleError(
            f"cannot read the champion's bundle (manifest {store.uri_of(manifest_sha256)}): {exc}"
        ) from exc
    return ChampionBundle(manifest=manifest, snapshot_config=snapshot.config, model=model)
