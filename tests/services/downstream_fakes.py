"""Real grpc.aio servers on port 0 that stand in for one downstream service and answer
what a test tells them to (late, malformed), and the real servers around them.

`serving_front` and `serving_ranking` build the real front and ranking with their own
`create_server`, pointed at whatever addresses the test gives them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from opentelemetry.sdk.trace import TracerProvider

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.features.v1 import features_pb2, features_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.etcd.local_server import LocalEtcd
from recmesh.rpc.errors import RecmeshError
from recmesh.server.run import ServerHandle
from recmesh.telemetry.metrics import ServerMetrics
from services.candidates.server import CandidatesConfig
from services.candidates.server import create_server as create_candidates
from services.common.batch_items import OK, item_status
from services.features.server import FeaturesConfig
from services.features.server import create_server as create_features
from services.ranking.server import RankingConfig
from services.ranking.server import create_server as create_ranking
from services.recommend.server import RecommendConfig
from services.recommend.server import create_server as create_recommend
from tests.mesh_harness import common_options

Context = grpc.aio.ServicerContext[Any, Any]
RankHandler = Callable[[ranking_pb2.RankRequest, Context], Awaitable[ranking_pb2.RankResponse]]
FeaturesHandler = Callable[
    [features_pb2.GetFeaturesRequest, Context], Awaitable[features_pb2.GetFeaturesResponse]
]
CandidatesHandler = Callable[
    [candidates_pb2.GetCandidatesRequest, Context], Awaitable[candidates_pb2.GetCandidatesResponse]
]


class FakeRanking(ranking_pb2_grpc.RankingServiceServicer):
    def __init__(self, handler: RankHandler) -> None:
        self.handler = handler

    async def Rank(
        self, request: ranking_pb2.RankRequest, context: Context
    ) -> ranking_pb2.RankResponse:
        return await self.handler(request, context)

    async def RankBatch(
        self, request: ranking_pb2.RankBatchRequest, context: Context
    ) -> ranking_pb2.RankBatchResponse:
        """Each item answered by the handler, as a Rank of its request."""

        async def one(item: ranking_pb2.RankBatchItem) -> ranking_pb2.RankBatchResult:
            try:
                response = await self.handler(item.request, context)
            except RecmeshError as error:
                return ranking_pb2.RankBatchResult(status=item_status(error))
            return ranking_pb2.RankBatchResult(status=OK, response=response)

        results = await asyncio.gather(*(one(item) for item in request.items))
        return ranking_pb2.RankBatchResponse(results=results)


class FakeFeatures(features_pb2_grpc.FeaturesServiceServicer):
    def __init__(self, handler: FeaturesHandler) -> None:
        self.handler = handler

    async def GetFeatures(
        self, request: features_pb2.GetFeaturesRequest, context: Context
    ) -> features_pb2.GetFeaturesResponse:
        return await self.handler(request, context)

    async def GetFeaturesBatch(
        self, request: features_pb2.GetFeaturesBatchRequest, context: Context
    ) -> features_pb2.GetFeaturesBatchResponse:
        """Each item answered by the handler, as a GetFeatures of its request."""

        async def one(
            item: features_pb2.GetFeaturesBatchItem,
        ) -> features_pb2.GetFeaturesBatchResult:
            try:
                response = await self.handler(item.request, context)
            except RecmeshError as error:
                return features_pb2.GetFeaturesBatchResult(status=item_status(error))
            return features_pb2.GetFeaturesBatchResult(status=OK, response=response)

        results = await asyncio.gather(*(one(item) for item in request.items))
        return features_pb2.GetFeaturesBatchResponse(results=results)


class FakeCandidates(candidates_pb2_grpc.CandidatesServiceServicer):
    def __init__(self, handler: CandidatesHandler) -> None:
        self.handler = handler

    async def GetCandidates(
        self, request: candidates_pb2.GetCandidatesRequest, context: Context
    ) -> candidates_pb2.GetCandidatesResponse:
        return await self.handler(request, context)

    async def GetCandidatesBatch(
        self, request: candidates_pb2.GetCandidatesBatchRequest, context: Context
    ) -> candidates_pb2.GetCandidatesBatchResponse:
        """Each item answered by the handler, as a GetCandidates of its request."""

        async def one(
            item: candidates_pb2.GetCandidatesBatchItem,
        ) -> candidates_pb2.GetCandidatesBatchResult:
            try:
                response = await self.handler(item.request, context)
            except RecmeshError as error:
                return candidates_pb2.GetCandidatesBatchResult(status=item_status(error))
            return candidates_pb2.GetCandidatesBatchResult(status=OK, response=response)

        results = await asyncio.gather(*(one(item) for item in request.items))
        return candidates_pb2.GetCandidatesBatchResponse(results=results)


@asynccontextmanager
async def fake_server(register: Callable[[grpc.aio.Server], None]) -> AsyncIterator[str]:
    """A grpc.aio server on 127.0.0.1:0 with the servicer register adds and health
    SERVING; yields its address."""
    server = grpc.aio.server()
    register(server)
    health = HealthServicer()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


def fake_ranking(handler: RankHandler) -> AbstractAsyncContextManager[str]:
    servicer = FakeRanking(handler)
    return fake_server(lambda s: ranking_pb2_grpc.add_RankingServiceServicer_to_server(servicer, s))


def fake_features(handler: FeaturesHandler) -> AbstractAsyncContextManager[str]:
    servicer = FakeFeatures(handler)
    return fake_server(
        lambda s: features_pb2_grpc.add_FeaturesServiceServicer_to_server(servicer, s)
    )


def fake_candidates(handler: CandidatesHandler) -> AbstractAsyncContextManager[str]:
    servicer = FakeCandidates(handler)
    return fake_server(
        lambda s: candidates_pb2_grpc.add_CandidatesServiceServicer_to_server(servicer, s)
    )


def _address(handle: ServerHandle) -> str:
    return f"127.0.0.1:{handle.port}"


@asynccontextmanager
async def serving(handle: ServerHandle) -> AsyncIterator[str]:
    """Yields the address of a started real server; stops it afterwards."""
    try:
        yield _address(handle)
    finally:
        await handle.stop(0.1)


async def real_candidates(etcd: LocalEtcd, artifacts: Path) -> ServerHandle:
    return await create_candidates(
        CandidatesConfig(common=common_options(etcd, artifacts)),
        TracerProvider(),
        ServerMetrics("candidates"),
    )


async def real_features(etcd: LocalEtcd, artifacts: Path) -> ServerHandle:
    return await create_features(
        FeaturesConfig(common=common_options(etcd, artifacts)),
        TracerProvider(),
        ServerMetrics("features"),
    )


async def real_ranking(etcd: LocalEtcd, artifacts: Path, features: str) -> ServerHandle:
    return await create_ranking(
        RankingConfig(common=common_options(etcd, artifacts), features_addresses=(features,)),
        TracerProvider(),
        ServerMetrics("ranking"),
    )


async def real_front(
    etcd: LocalEtcd,
    artifacts: Path,
    candidates: str,
    ranking: str,
    impressions: Path,
    interaction_log: Path | None = None,
) -> ServerHandle:
    return await create_recommend(
        RecommendConfig(
            common=common_options(etcd, artifacts),
            candidates_addresses=(candidates,),
            ranking_addresses=(ranking,),
            impressions_path=impressions,
            interaction_log_dir=interaction_log,
        ),
        TracerProvider(),
        ServerMetrics("recommend"),
    )


async def wait_ready(*addresses: str, within_s: float = 30.0) -> None:
    """Waits until every address answers health SERVING (its version is loaded)."""
    deadline = asyncio.get_running_loop().time() + within_s
    for address in addresses:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                try:
                    reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.aio.AioRpcError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, f"{address} not SERVING"
                await asyncio.sleep(0.05)
