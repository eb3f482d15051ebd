"""How RankBatch asks features, on real servers (etcd, candidates, features and ranking
on loopback, the trained XGBoost version): the items' feature matrices are cut into
GetFeaturesBatch calls that each fit the reply budget, and each item goes with its
own deadline while the call lasts as long as its longest item may, so no item loses
time to another's shorter deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

import grpc
import numpy as np
import pytest

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.common.v1 import batch_pb2
from recmesh.api.features.v1 import features_pb2, features_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.etcd.local_server import LocalEtcd
from recmesh.wire.arrays import decode_float32
from services.ranking import servicer as ranking_servicer
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import write_pointer
from tests.services.downstream_fakes import (
    Context,
    FakeFeatures,
    fake_server,
    real_candidates,
    real_features,
    real_ranking,
    serving,
    wait_ready,
)

USERS = ("196", "186", "22", "244", "6")
BatchHandler = Callable[
    [features_pb2.GetFeaturesBatchRequest, Context],
    Awaitable[features_pb2.GetFeaturesBatchResponse],
]


async def _with_ranking(
    etcd: LocalEtcd,
    versions: ServingVersions,
    on_batch: Callable[
        [features_pb2.GetFeaturesBatchRequest, Context, BatchHandler],
        Awaitable[features_pb2.GetFeaturesBatchResponse],
    ],
    scenario: Callable[
        [ranking_pb2_grpc.RankingServiceAsyncStub, list[ranking_pb2.RankRequest]], Awaitable[None]
    ],
) -> None:
    """Real candidates and features, and ranking pointed at a features server that hands
    each GetFeaturesBatch to `on_batch` (with the real features' handler to pass it on)."""
    xgboost = versions.xgboost
    store = versions.store_dir
    await write_pointer(etcd, xgboost.version_id, xgboost.manifest_sha256)
    async with AsyncExitStack() as stack:
        real_at = await stack.enter_async_context(serving(await real_features(etcd, store)))
        candidates_at = await stack.enter_async_context(serving(await real_candidates(etcd, store)))
        channel = await stack.enter_async_context(grpc.aio.insecure_channel(real_at))
        real = features_pb2_grpc.FeaturesServiceStub(channel)

        async def unary(
            request: features_pb2.GetFeaturesRequest, _: Context
        ) -> features_pb2.GetFeaturesResponse:
            return await real.GetFeatures(request, timeout=5)

        async def pass_on(
            request: features_pb2.GetFeaturesBatchRequest, _: Context
        ) -> features_pb2.GetFeaturesBatchResponse:
            return await real.GetFeaturesBatch(request, timeout=5)

        fake = FakeFeatures(unary)

        async def batch(
            request: features_pb2.GetFeaturesBatchRequest, context: Context
        ) -> features_pb2.GetFeaturesBatchResponse:
            return await on_batch(request, context, pass_on)

        fake.GetFeaturesBatch = batch  # type: ignore[method-assign]
        fake_at = await stack.enter_async_context(
            fake_server(lambda s: features_pb2_grpc.add_FeaturesServiceServicer_to_server(fake, s))
        )
        ranking_at = await stack.enter_async_context(
            serving(await real_ranking(etcd, store, fake_at))
        )
        await wait_ready(real_at, candidates_at, ranking_at)
        ranking_channel = await stack.enter_async_context(grpc.aio.insecure_channel(ranking_at))
        candidates_channel = await stack.enter_async_context(
            grpc.aio.insecure_channel(candidates_at)
        )
        candidates = candidates_pb2_grpc.CandidatesServiceStub(candidates_channel)
        ranks = []
        for user in USERS:
            found = await candidates.GetCandidates(
                candidates_pb2.GetCandidatesRequest(
                    user_id=user, serving_version=xgboost.version_id
                ),
                timeout=5,
            )
            ranks.append(
                ranking_pb2.RankRequest(
                    user_id=user,
                    serving_version=xgboost.version_id,
                    candidates=found.candidates,
                    k=10,
                )
            )
        await scenario(ranking_pb2_grpc.RankingServiceStub(ranking_channel), ranks)


def _batch(
    ranks: list[ranking_pb2.RankRequest], remaining_us: list[int] | None = None
) -> ranking_pb2.RankBatchRequest:
    lefts = remaining_us or [0] * len(ranks)
    return ranking_pb2.RankBatchRequest(
        items=[
            ranking_pb2.RankBatchItem(
                request=r, context=batch_pb2.BatchItemContext(remaining_us=left)
            )
            for r, left in zip(ranks, lefts, strict=True)
        ]
    )


def test_features_calls_of_a_rank_batch_each_fit_the_reply_budget(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a budget of two items' matrices, five items go to features as calls of two,
    two and one (asked at once), and every item ranks exactly as in one call."""
    sizes: list[int] = []

    async def record(
        request: features_pb2.GetFeaturesBatchRequest, context: Context, pass_on: BatchHandler
    ) -> features_pb2.GetFeaturesBatchResponse:
        sizes.append(len(request.items))
        return await pass_on(request, context)

    async def scenario(
        ranking: ranking_pb2_grpc.RankingServiceAsyncStub, ranks: list[ranking_pb2.RankRequest]
    ) -> None:
        whole = await ranking.RankBatch(_batch(ranks), timeout=10)
        assert sizes == [5]
        rows = max(len(r.candidates.item_ids.data) for r in ranks) // 8  # int64 ids
        one_item = rows * 45 * 4
        monkeypatch.setattr(ranking_servicer, "FEATURES_BATCH_REPLY_BYTES", 2 * one_item)
        sizes.clear()
        cut = await ranking.RankBatch(_batch(ranks), timeout=10)
        assert sorted(sizes) == [1, 2, 2]
        for a, b in zip(whole.results, cut.results, strict=True):
            assert a.status.code == b.status.code == 0
            assert a.response.item_ids == b.response.item_ids
            assert np.array_equal(
                decode_float32(a.response.scores, "scores"),
                decode_float32(b.response.scores, "scores"),
            )

    asyncio.run(_with_ranking(etcd_server, serving_versions, record, scenario))


def test_each_item_carries_its_own_deadline_and_the_call_lasts_the_longest(
    etcd_server: LocalEtcd, serving_versions: ServingVersions
) -> None:
    """Items with 0.3 s and 1.5 s left: each goes to features with its own time (what
    ranking may pass down of it), and the call is given what the 1.5 s item may pass
    down, more than the 0.3 s item has; when features hangs both answer UNAVAILABLE."""
    granted: list[float] = []
    items_left: list[list[int]] = []

    async def hang(
        request: features_pb2.GetFeaturesBatchRequest, context: Context, pass_on: BatchHandler
    ) -> features_pb2.GetFeaturesBatchResponse:
        remaining = context.time_remaining()
        assert remaining is not None
        granted.append(remaining)
        items_left.append([item.context.remaining_us for item in request.items])
        await asyncio.sleep(30)
        raise AssertionError("ranking should have given up on this call")

    async def scenario(
        ranking: ranking_pb2_grpc.RankingServiceAsyncStub, ranks: list[ranking_pb2.RankRequest]
    ) -> None:
        reply = await ranking.RankBatch(_batch(ranks[:2], [300_000, 1_500_000]), timeout=10)
        unavailable = grpc.StatusCode.UNAVAILABLE.value[0]
        assert [r.status.code for r in reply.results] == [unavailable] * 2
        assert all(r.status.message.startswith("features unavailable") for r in reply.results)
        (call_s,) = granted
        assert 0.3 < call_s < 1.5
        ((short, long),) = items_left
        assert short <= 300_000 < long <= 1_500_000

    asyncio.run(_with_ranking(etcd_server, serving_versions, hang, scenario))


def test_a_slow_features_does_not_fail_an_item_that_has_the_time(
    etcd_server: LocalEtcd, serving_versions: ServingVersions
) -> None:
    """Features answers after 0.25 s: an item with 0.12 s left beside one with 5 s does
    not cut the other's time, which answers whole (a review found both failed when
    the call waited only as long as its most urgent item)."""

    async def slow(
        request: features_pb2.GetFeaturesBatchRequest, context: Context, pass_on: BatchHandler
    ) -> features_pb2.GetFeaturesBatchResponse:
        await asyncio.sleep(0.25)
        return await pass_on(request, context)

    async def scenario(
        ranking: ranking_pb2_grpc.RankingServiceAsyncStub, ranks: list[ranking_pb2.RankRequest]
    ) -> None:
        reply = await ranking.RankBatch(_batch(ranks[:2], [120_000, 5_000_000]), timeout=10)
        assert reply.results[1].status.code == 0
        assert reply.results[1].response.scorer == "xgboost"

    asyncio.run(_with_ranking(etcd_server, serving_versions, slow, scenario))
