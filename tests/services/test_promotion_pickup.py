"""A promotion through the real control plane reaches every serving service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from control_plane.auth.credentials import create_credentials
from control_plane.bootstrap import bootstrap_baseline_async, ensure_signing_key
from control_plane.config import ControlPlaneConfig
from control_plane.server import create_server
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.users import CONTROL_PLANE_USER
from recmesh.signing.keys import PublicKeyRing
from testkit.promotion_flow import PromotionFlow
from tests.control_plane.harness import TEST_PRINCIPALS
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import running_mesh
from tests.services.mesh_calls import recommend, wait_for_version


def test_promoted_challenger_is_picked_up_by_the_mesh(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """register -> experiment -> PASS evaluation -> approval -> Promote moves the pointer,
    and the front (with candidates, features and ranking) then answers with the challenger."""

    baseline, challenger = serving_versions.baseline, serving_versions.xgboost
    credentials = create_credentials(tmp_path / "credentials", TEST_PRINCIPALS)
    key = ensure_signing_key(tmp_path / "credentials")

    async def main() -> None:
        await bootstrap_baseline_async(
            [etcd_server.endpoint],
            serving_versions.store_dir,
            baseline.manifest_sha256,
            signing_key=key.private,
            credentials=etcd_server.credentials(CONTROL_PLANE_USER),
        )
        started = await create_server(
            ControlPlaneConfig(
                artifacts_dir=serving_versions.store_dir,
                credentials_file=credentials.principals,
                signing_key=key.private,
                etcd_endpoints=(etcd_server.endpoint,),
                etcd_credentials=etcd_server.credentials(CONTROL_PLANE_USER),
                port=0,
            )
        )
        server, port = started.server, started.port
        try:
            async with (
                running_mesh(
                    etcd_server,
                    serving_versions.store_dir,
                    tmp_path / "imp.jsonl",
                    pointer_keys=PublicKeyRing.from_files([key.public]),
                ) as mesh,
                grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
            ):
                await wait_for_version(mesh.front, baseline.version_id)
                flow = PromotionFlow.over(channel, credentials.client_tokens)
                await flow.register(challenger.manifest_sha256)
                pointer = await flow.promote_version(challenger.version_id)
                assert pointer.serving_version == challenger.version_id
                await wait_for_version(mesh.front, challenger.version_id, within_s=20)
                response = await recommend(mesh.front, "196")
                assert response.serving_version == challenger.version_id
                assert not response.degraded
        finally:
            await server.stop(0.2)

    asyncio.run(main())
