"""The real front over real downstream servers (real etcd, the XGBoost version), one of
them replaced by a fake the test gives, and the checks a degraded answer must pass."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import grpc

from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from recmesh.etcd.local_server import LocalEtcd
from services.recommend.answer import Reason
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import write_pointer
from tests.services.downstream_fakes import (
    CandidatesHandler,
    FeaturesHandler,
    RankHandler,
    fake_candidates,
    fake_features,
    fake_ranking,
    real_candidates,
    real_features,
    real_front,
    real_ranking,
    serving,
    wait_ready,
)

K = 10


@asynccontextmanager
async def front_over(
    etcd: LocalEtcd,
    versions: ServingVersions,
    tmp_path: Path,
    *,
    candidates: CandidatesHandler | None = None,
    ranking: RankHandler | None = None,
    features: FeaturesHandler | None = None,
) -> AsyncIterator[str]:
    """The real front over real candidates, ranking and features serving the XGBoost
    version, except for the one the test replaces with a handler; yields its address."""
    xgboost = versions.xgboost
    await write_pointer(etcd, xgboost.version_id, xgboost.manifest_sha256)
    store = versions.store_dir
    async with AsyncExitStack() as stack:
        if candidates is None:
            handle = await real_candidates(etcd, store)
            candidates_at = await stack.enter_async_context(serving(handle))
        else:
            candidates_at = await stack.enter_async_context(fake_candidates(candidates))
        if ranking is None:
            if features is None:
                features_at = await stack.enter_async_context(
                    serving(await real_features(etcd, store))
                )
            else:
                features_at = await stack.enter_async_context(fake_features(features))
            ranking_at = await stack.enter_async_context(
                serving(await real_ranking(etcd, store, features_at))
            )
        else:
            ranking_at = await stack.enter_async_context(fake_ranking(ranking))
        front = await stack.enter_async_context(
            serving(
                await real_front(etcd, store, candidates_at, ranking_at, tmp_path / "imp.jsonl")
            )
        )
        await wait_ready(candidates_at, ranking_at, front)
        yield front


async def recommend(front: str, deadline_s: float = 2.0) -> recommend_pb2.RecommendResponse:
    async with grpc.aio.insecure_channel(front) as channel:
        return await recommend_pb2_grpc.RecommendServiceStub(channel).Recommend(
            recommend_pb2.RecommendRequest(user_id="196", k=K), timeout=deadline_s
        )


def run(
    etcd: LocalEtcd,
    versions: ServingVersions,
    tmp_path: Path,
    scenario: Callable[[str], Awaitable[None]],
    **fakes: CandidatesHandler | RankHandler | FeaturesHandler,
) -> None:
    async def main() -> None:
        async with front_over(etcd, versions, tmp_path, **fakes) as front:  # type: ignore[arg-type]
            await scenario(front)

    asyncio.run(main())


def assert_degraded(
    response: recommend_pb2.RecommendResponse, reason: Reason, *detail_parts: str
) -> None:
    assert response.degraded
    assert recommend_pb2.DegradedReason.Name(response.degraded_reason) == (
        recommend_pb2.DegradedReason.Name(reason)
    ), response.degraded_detail
    assert len(response.items) == K
    for part in detail_parts:
        assert part in response.degraded_detail
