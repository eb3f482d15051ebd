"""The real control plane beside the real serving mesh, in the test process: one
installation whose champion the control plane bootstrapped and signed, its server (with
its own rollout driver task) on port 0, the four services following its pointer, and a
PromotionFlow to drive it as its users do. Nothing is written into etcd by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc

from control_plane.auth.credentials import create_credentials
from control_plane.bootstrap import bootstrap_baseline_async, ensure_signing_key
from control_plane.config import DEFAULT_ROLLOUT_TICK_SECONDS, ControlPlaneConfig
from control_plane.server import create_server
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.artifacts.location import ArtifactsLocation
from recmesh.bundle.writer import WrittenBundle
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.users import CONTROL_PLANE_USER
from recmesh.signing.keys import PublicKeyRing
from testkit.promotion_flow import PromotionFlow
from tests.control_plane.harness import TEST_PRINCIPALS
from tests.mesh_harness import RunningMesh, running_mesh
from tests.services.mesh_calls import recommend, wait_for_version


@dataclass(frozen=True)
class ControlledMesh:
    """The running mesh and the control plane's users' flow over a channel to it."""

    mesh: RunningMesh
    flow: PromotionFlow

    async def rollout(self, experiment_id: str) -> pb.GetRolloutResponse:
        """GetRollout as the experimenter: the rollout record and every look."""
        response: pb.GetRolloutResponse = await self.flow.stub.GetRollout(
            pb.GetRolloutRequest(experiment_id=experiment_id),
            metadata=self.flow.auth(self.flow.experimenter),
        )
        return response

    async def pointer(self) -> records_pb2.ServingPointer:
        response = await self.flow.stub.GetPointer(
            pb.GetPointerRequest(), metadata=self.flow.auth(self.flow.experimenter)
        )
        return response.pointer

    async def audit_entries(self) -> list[records_pb2.AuditEntry]:
        response = await self.flow.stub.ListAuditEntries(
            pb.ListAuditEntriesRequest(), metadata=self.flow.auth(self.flow.experimenter)
        )
        return list(response.entries)

    async def promote_and_serve(self, version: WrittenBundle) -> recommend_pb2.RecommendResponse:
        """Promotes the registered version (experiment, PASS evaluation, approval, Promote)
        and waits until the front answers with it whole; that answer for user 196."""
        pointer = await self.flow.promote_version(version.version_id)
        assert pointer.serving_version == version.version_id
        await wait_for_version(self.mesh.front, version.version_id, within_s=20)
        response = await recommend(self.mesh.front, "196")
        assert response.serving_version == version.version_id
        assert not response.degraded
        return response

    async def promote_staged(
        self, experiment_id: str, plan: records_pb2.RolloutPlan
    ) -> pb.PromoteResponse:
        """The operator's Promote with a plan: the first stage starts."""
        response: pb.PromoteResponse = await self.flow.stub.Promote(
            pb.PromoteRequest(experiment_id=experiment_id, plan=plan),
            metadata=self.flow.auth(self.flow.operator),
        )
        return response


@asynccontextmanager
async def control_plane_and_mesh(
    etcd: LocalEtcd,
    artifacts: ArtifactsLocation,
    champion_manifest_sha256: str,
    directory: Path,
    *,
    rollout_tick_seconds: float = DEFAULT_ROLLOUT_TICK_SECONDS,
    state_dir: Path | None = None,
) -> AsyncIterator[ControlledMesh]:
    """Bootstraps the champion (signed with a key made in `directory`), starts the control
    plane server and the mesh trusting that key, both on `artifacts` (a directory or an
    S3 bucket, which needs the servers' `state_dir`), and stops both after. The control
    plane's rollout driver ticks every `rollout_tick_seconds`."""
    credentials = create_credentials(directory / "credentials", TEST_PRINCIPALS)
    key = ensure_signing_key(directory / "credentials")
    control_plane_etcd = etcd.credentials(CONTROL_PLANE_USER)
    await bootstrap_baseline_async(
        [etcd.endpoint],
        artifacts,
        champion_manifest_sha256,
        signing_key=key.private,
        credentials=control_plane_etcd,
    )
    started = await create_server(
        ControlPlaneConfig(
            artifacts_dir=artifacts,
            credentials_file=credentials.principals,
            signing_key=key.private,
            etcd_endpoints=(etcd.endpoint,),
            etcd_credentials=control_plane_etcd,
            port=0,
            rollout_tick_seconds=rollout_tick_seconds,
        )
    )
    try:
        async with (
            running_mesh(
                etcd,
                artifacts,
                directory / "impressions.jsonl",
                pointer_keys=PublicKeyRing.from_files([key.public]),
                state_dir=state_dir,
            ) as mesh,
            grpc.aio.insecure_channel(f"127.0.0.1:{started.port}") as channel,
        ):
            yield ControlledMesh(mesh, PromotionFlow.over(channel, credentials.client_tokens))
    finally:
        await started.server.stop(0.2)
