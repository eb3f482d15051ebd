"""Builds a refresh: the champion's exact model with a snapshot of every interaction known.

The refreshed bundle keeps everything of the champion but its data: the same model
bytes, feature names and schema, snapshot settings and training-data fingerprint;
its snapshot is built from the dataset plus every line of the interaction log. The
probe measures the champion model on the champion's own data and on the refreshed
data, in this one run, so the two values are comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

from offline.experiment.bundle import BundleFiles, make_bundle
from offline.refresh.champion import ServingBundle
from offline.refresh.data import RefreshData
from offline.refresh.errors import RefreshError
from offline.refresh.probe import ProbeSettings, probe_users, probe_value
from recmesh.console.progress import Progress
from recmesh.core.features.pipeline import build_feature_pipeline
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.errors import SnapshotBuildError


@dataclass(frozen=True)
class ProbeResult:
    users: int
    reference_value: float
    refreshed_value: float


@dataclass(frozen=True)
class RefreshBuild:
    bundle: BundleFiles
    probe: ProbeResult
    added_interactions: int


def build_refresh(
    champion: ServingBundle, data: RefreshData, settings: ProbeSettings, progress: Progress
) -> RefreshBuild:
    if data.refreshed.fingerprint == data.reference.fingerprint:
        raise RefreshError(
            "nothing to refresh: no interaction was logged since the serving snapshot was built"
        )
    config = champion.snapshot.config
    progress.start(None, f"building the serving snapshot of {len(data.refreshed.interactions):,} "
                   "interactions")  # fmt: skip
    try:
        snapshot = build_snapshot(data.refreshed, data.refreshed.interactions, config)
    except SnapshotBuildError as exc:
        raise RefreshError(f"the logged interactions do not fit the catalogue: {exc}") from exc
    progress.finish(f"{snapshot.n_users:,} users")
    manifest = champion.manifest
    schema = build_feature_pipeline(snapshot).schema
    if champion.model is not None and schema.fingerprint != manifest.feature_schema_fingerprint:
        raise RefreshError(
            f"the feature pipeline now computes schema {schema.fingerprint[:12]}, the serving "
            f"model expects {manifest.feature_schema_fingerprint[:12]}: this code cannot "
            "refresh it (run an experiment)"
        )
    users = probe_users(data.reference, settings)
    reference = probe_value(
        data.reference, users, config, champion.model, settings, progress, "reference"
    )
    refreshed = probe_value(
        data.refreshed, users, config, champion.model, settings, progress, "refreshed"
    )
    bundle = make_bundle(
        snapshot,
        champion.model_bytes,
        manifest.feature_names,
        manifest.feature_schema_fingerprint,
        training_dataset_fingerprint=manifest.training_dataset_fingerprint,
    )
    return RefreshBuild(
        bundle=bundle,
        probe=ProbeResult(int(users.shape[0]), reference, refreshed),
        added_interactions=data.added_interactions,
    )
