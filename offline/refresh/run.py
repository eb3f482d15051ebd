"""`recmesh data refresh`, step by step, through the control plane's RPCs only.

1. the refresh policy (GetRefreshPolicy) and the serving version now (GetPointer,
   GetModelVersion): nothing is built without a policy;
2. the serving bundle from the artifact store; the dataset plus the interaction log
   rows the serving snapshot was built from (checked against its fingerprint), and
   plus every logged row now;
3. the refreshed snapshot, and the probe on both datasets;
4. upload snapshot, model and manifest; RefreshServing, which checks the policy's
   rules itself and moves the pointer, or refuses and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline.experiment.controlplane import ExperimentControlPlane
from offline.experiment.data import load_dataset
from offline.experiment.spec import DatasetSpec
from offline.refresh.build import build_refresh
from offline.refresh.champion import read_serving_bundle
from offline.refresh.data import refresh_data
from offline.refresh.errors import RefreshError
from offline.refresh.probe import ProbeSettings
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.artifacts.factory import open_artifact_store
from recmesh.artifacts.location import ArtifactsLocation
from recmesh.console.progress import Progress
from recmesh.refresh.probe_metric import ProbeMetricError, probe_k


@dataclass(frozen=True)
class RefreshSettings:
    dataset: DatasetSpec
    data_dir: Path
    interaction_log: Path
    artifacts_dir: ArtifactsLocation


def run_refresh(
    stub: Any,
    metadata: tuple[tuple[str, str], ...],
    timeout: float,
    settings: RefreshSettings,
    progress: Progress,
) -> pb.RefreshServingResponse:
    """Builds and submits a refresh; RPC errors propagate as grpc.RpcError, a refresh
    that cannot be built as RefreshError."""
    control_plane = ExperimentControlPlane(stub, metadata, timeout)
    progress.start(None, "reading the refresh policy and the serving version")
    policy = stub.GetRefreshPolicy(
        pb.GetRefreshPolicyRequest(), metadata=metadata, timeout=timeout
    ).policy
    pointer = stub.GetPointer(pb.GetPointerRequest(), metadata=metadata, timeout=timeout).pointer
    champion_version = control_plane.model_version(pointer.serving_version)
    progress.finish(f"{pointer.serving_version} at pointer revision {pointer.revision}")

    champion = read_serving_bundle(
        open_artifact_store(settings.artifacts_dir), champion_version.manifest_sha256
    )
    dataset = load_dataset(settings.dataset, settings.data_dir, policy.seed, progress)
    progress.start(None, f"reading the interaction log {settings.interaction_log}")
    data = refresh_data(
        dataset,
        settings.interaction_log,
        dict(champion_version.lineage.interaction_log_rows),
        champion.manifest.dataset_fingerprint,
        settings.dataset.log.weight,
    )
    progress.finish(f"{data.added_interactions:,} interactions since the serving snapshot")
    try:
        k = probe_k(policy.metric)
    except ProbeMetricError as exc:
        raise RefreshError(f"the refresh policy's metric: {exc}") from exc
    probe = ProbeSettings(
        k=k,
        users=policy.probe_users,
        holdout_fraction=policy.holdout_fraction,
        seed=policy.seed,
    )
    built = build_refresh(champion, data, probe, progress)

    files = built.bundle.files()
    progress.start(sum(len(content) for _, content in files), "uploading the refresh", "B")
    for name, content in files:
        control_plane.upload(name, content)
        progress.advance(len(content))
    progress.finish()
    progress.start(None, "asking the control plane to serve the refresh")
    lineage = records_pb2.Lineage(
        split=champion_version.lineage.split,
        training_params=dict(champion_version.lineage.training_params),
        code_revision=champion_version.lineage.code_revision,
        interaction_log_rows=dict(data.log_rows),
    )
    response: pb.RefreshServingResponse = stub.RefreshServing(
        pb.RefreshServingRequest(
            manifest_sha256=built.bundle.manifest_sha256,
            base_version=pointer.serving_version,
            base_pointer_revision=pointer.revision,
            probe=records_pb2.RefreshProbe(
                metric=policy.metric,
                users=built.probe.users,
                reference_value=built.probe.reference_value,
                refreshed_value=built.probe.refreshed_value,
                seed=probe.seed,
                holdout_fraction=probe.holdout_fraction,
            ),
            lineage=lineage,
            description=(
                f"refresh of {pointer.serving_version}: +{built.added_interactions} "
                "interactions"
            ),
        ),
        metadata=metadata,
        timeout=timeout,
    )
    progress.finish(response.pointer.serving_version)
    return response
