"""Calls on a running serving mesh, shared by the mesh tests: one Recommend, waiting until
the front serves a version, and a whole mesh run around a scenario."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from recmesh.etcd.local_server import LocalEtcd
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import RunningMesh, running_mesh, write_pointer


async def recommend(
    address: str, user: str, k: int = 10, deadline_s: float = 5.0
) -> recommend_pb2.RecommendResponse:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = recommend_pb2_grpc.RecommendServiceStub(channel)
        return await stub.Recommend(
            recommend_pb2.RecommendRequest(user_id=user, k=k), timeout=deadline_s
        )


async def wait_for_version(address: str, version: str, within_s: float = 30.0) -> None:
    """Until the front answers whole (not degraded) from `version`: the front, and the
    candidates and ranking replicas behind it, all serve it. An answer of the version
    that is degraded means a downstream has not loaded it yet (its health is still
    NOT_SERVING), so tests that start traffic right after would see it fail open."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            response = await recommend(address, "196")
            if response.serving_version == version and not response.degraded:
                return
        except grpc.aio.AioRpcError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the front never served {version} whole")
        await asyncio.sleep(0.1)


def run_mesh(
    etcd: LocalEtcd,
    versions: ServingVersions,
    tmp_path: Path,
    first_version: str,
    scenario: Callable[[RunningMesh], Awaitable[None]],
) -> None:
    bundle = versions.xgboost if first_version == "xgboost" else versions.baseline

    async def main() -> None:
        await write_pointer(etcd, bundle.version_id, bundle.manifest_sha256)
        async with running_mesh(
            etcd, versions.store_dir, tmp_path / "impressions.jsonl"
        ) as mesh:
            await wait_for_version(mesh.front, bundle.version_id)
            await scenario(mesh)

    asyncio.run(main())
