"""Adaptive batching on the real mesh (issue 16, item 1): the front coalesces its calls
to candidates and ranking (services/common/coalesced_downstream.py) while a call is in
flight, sends a lone request at once, and every Recommend of a coalesced batch keeps
a trace of its own with spans of all four services.

Batches are observed on the servers' item spans (`recmesh.batch_size`, set by
services/common/batch_items.py) and on the front's `coalesced <Method>` spans; the
tests assert on batch sizes, never on time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from recmesh.etcd.local_server import LocalEtcd
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import RunningMesh
from tests.services.mesh_calls import recommend, run_mesh

CANDIDATES_ITEM = "/recmesh.candidates.v1.CandidatesService/GetCandidates"
RANK_ITEM = "/recmesh.ranking.v1.RankingService/Rank"
FEATURES_ITEM = "/recmesh.features.v1.FeaturesService/GetFeatures"
SERVICES = {
    "recmesh-recommend",
    "recmesh-candidates",
    "recmesh-ranking",
    "recmesh-features",
}
USERS = ("196", "186", "22", "244", "166", "298", "115", "253")


def trace_of(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


def batch_sizes(spans: list[ReadableSpan], name: str) -> list[int]:
    sizes = []
    for span in spans:
        if span.name == name and span.attributes and "recmesh.batch_size" in span.attributes:
            sizes.append(int(str(span.attributes["recmesh.batch_size"])))
    return sizes


async def concurrent_recommends(front: str, users: tuple[str, ...]) -> list[object]:
    """One Recommend per user, all at once on one channel."""
    async with grpc.aio.insecure_channel(front) as channel:
        stub = recommend_pb2_grpc.RecommendServiceStub(channel)
        await channel.channel_ready()
        return list(
            await asyncio.gather(
                *(
                    stub.Recommend(recommend_pb2.RecommendRequest(user_id=u, k=10), timeout=5.0)
                    for u in users
                )
            )
        )


def test_concurrent_recommends_are_coalesced_and_each_keeps_its_own_trace(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    async def scenario(mesh: RunningMesh) -> None:
        coalesced: list[recommend_pb2.RecommendResponse] = []
        spans: list[ReadableSpan] = []
        # Each round sends 8 at once; the first two go out alone (two calls in flight
        # per downstream), the others wait for a slot and go out together. A round
        # where the front happened to keep up with every arrival is tried again.
        for _ in range(5):
            mesh.spans.clear()
            responses = await concurrent_recommends(mesh.front, USERS)
            await asyncio.sleep(0.2)
            spans = list(mesh.spans.get_finished_spans())
            coalesced = [r for r in responses if isinstance(r, recommend_pb2.RecommendResponse)]
            if (
                max(batch_sizes(spans, CANDIDATES_ITEM), default=0) >= 2
                and max(batch_sizes(spans, RANK_ITEM), default=0) >= 2
            ):
                break
        assert len(coalesced) == len(USERS)
        assert all(not r.degraded for r in coalesced), [r.degraded_detail for r in coalesced]
        assert max(batch_sizes(spans, CANDIDATES_ITEM)) >= 2
        assert max(batch_sizes(spans, RANK_ITEM)) >= 2
        assert max(batch_sizes(spans, "coalesced GetCandidates")) >= 2
        assert max(batch_sizes(spans, "coalesced Rank")) >= 2
        # Every Recommend has a trace of its own, with spans of all four services and
        # exactly one item span of each downstream.
        assert len({r.trace_id for r in coalesced}) == len(USERS)
        for response in coalesced:
            mine = [s for s in spans if trace_of(s) == response.trace_id]
            services = {str(s.resource.attributes["service.name"]) for s in mine}
            assert services == SERVICES, response.trace_id
            # One server span of each downstream (an item of a batch, or the unary call
            # of a request that went out alone).
            served = [s.name for s in mine if s.kind is SpanKind.SERVER]
            assert served.count(CANDIDATES_ITEM) == 1
            assert served.count(RANK_ITEM) == 1
            assert served.count(FEATURES_ITEM) == 1
            fronts = [s for s in mine if s.name.endswith("/Recommend") and s.parent is None]
            assert len(fronts) == 1

    run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)


def test_a_lone_recommend_is_sent_at_once_as_the_unary_calls(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """Nothing in flight: each hop sends the unary call at once, as with batching off
    (no batch RPC, no batch span), and the request's trace holds all four services."""

    async def scenario(mesh: RunningMesh) -> None:
        mesh.spans.clear()
        response = await recommend(mesh.front, "196", k=10)
        await asyncio.sleep(0.2)
        assert not response.degraded
        mine = [s for s in mesh.spans.get_finished_spans() if trace_of(s) == response.trace_id]
        assert {str(s.resource.attributes["service.name"]) for s in mine} == SERVICES
        names = [s.name for s in mine]
        # One SERVER span per hop, each the child of its caller's span, which records
        # the call as an event (no CLIENT span).
        assert names.count(CANDIDATES_ITEM) == 1
        assert names.count(RANK_ITEM) == 1
        assert names.count(FEATURES_ITEM) == 1
        by_id = {s.context.span_id: s for s in mine if s.context is not None}
        for callee in (CANDIDATES_ITEM, RANK_ITEM, FEATURES_ITEM):
            (server,) = [s for s in mine if s.name == callee]
            assert server.parent is not None
            caller = by_id[server.parent.span_id]
            assert callee in [event.name for event in caller.events]
        assert [n for n in names if n.endswith("Batch") or n.startswith("coalesced ")] == []
        assert batch_sizes(mine, CANDIDATES_ITEM) == []
        assert batch_sizes(mine, RANK_ITEM) == []

    run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)


def test_concurrent_ranks_coalesce_their_features_calls(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """Ranking's unary Rank (what a front with --no-batching sends) gets its features
    through services/ranking/features_client.py: concurrent Ranks reach features as a
    batch of >= 2, and each Rank's trace holds its own features item span."""
    version = serving_versions.xgboost.version_id

    async def scenario(mesh: RunningMesh) -> None:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{mesh.candidates.port}") as channel:
            stub = candidates_pb2_grpc.CandidatesServiceStub(channel)
            found = [
                await stub.GetCandidates(
                    candidates_pb2.GetCandidatesRequest(
                        user_id=u, max_candidates=500, serving_version=version
                    ),
                    timeout=5.0,
                )
                for u in USERS
            ]
        requests = [
            ranking_pb2.RankRequest(
                user_id=u, serving_version=version, k=10, candidates=f.candidates
            )
            for u, f in zip(USERS, found, strict=True)
        ]
        spans: list[ReadableSpan] = []
        async with grpc.aio.insecure_channel(f"127.0.0.1:{mesh.ranking.port}") as channel:
            ranking = ranking_pb2_grpc.RankingServiceStub(channel)
            await channel.channel_ready()
            for _ in range(5):
                mesh.spans.clear()
                replies = await asyncio.gather(*(ranking.Rank(r, timeout=5.0) for r in requests))
                await asyncio.sleep(0.2)
                spans = list(mesh.spans.get_finished_spans())
                if max(batch_sizes(spans, FEATURES_ITEM), default=0) >= 2:
                    break
        assert all(r.scorer == "xgboost" for r in replies)
        assert max(batch_sizes(spans, FEATURES_ITEM)) >= 2
        assert max(batch_sizes(spans, "coalesced GetFeatures")) >= 2
        rank_spans = [s for s in spans if s.name == RANK_ITEM and s.parent is None]
        assert len(rank_spans) == len(USERS)
        for rank_span in rank_spans:
            mine = [s for s in spans if trace_of(s) == trace_of(rank_span)]
            served = [s.name for s in mine if s.kind is SpanKind.SERVER]
            assert served.count(FEATURES_ITEM) == 1
            assert {str(s.resource.attributes["service.name"]) for s in mine} == {
                "recmesh-ranking",
                "recmesh-features",
            }

    run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)
