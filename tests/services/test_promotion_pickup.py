"""A promotion through the real control plane reaches every serving service."""

from __future__ import annotations

import asyncio
from pathlib import Path

from recmesh.etcd.local_server import LocalEtcd
from tests.fixtures_serving import ServingVersions
from tests.services.control_plane_mesh import control_plane_and_mesh
from tests.services.mesh_calls import wait_for_version


def test_promoted_challenger_is_picked_up_by_the_mesh(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """register -> experiment -> PASS evaluation -> approval -> Promote moves the pointer,
    and the front (with candidates, features and ranking) then answers with the challenger."""

    baseline, challenger = serving_versions.baseline, serving_versions.xgboost

    async def main() -> None:
        async with control_plane_and_mesh(
            etcd_server, serving_versions.store_dir, baseline.manifest_sha256, tmp_path
        ) as cm:
            await wait_for_version(cm.mesh.front, baseline.version_id)
            await cm.flow.register(challenger.manifest_sha256)
            await cm.promote_and_serve(challenger)

    asyncio.run(main())
