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
            names = [s.name for s in mine]
            assert names.count(CANDIDATES_ITEM) == 1
            assert names.count(RANK_ITEM) == 1
            assert names.count(FEATURES_ITEM) == 1
            fronts = [s for s in mine if s.name.endswith("/Recommend") and s.parent is None]
            assert len(fronts) == 1

    run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)


def test_a_lone_recommend_is_sent_at_once_as_a_batch_of_one(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    async def scenario(mesh: RunningMesh) -> None:
        mesh.spans.clear()
        response = await recommend(mesh.front, "196", k=10)
        await asyncio.sleep(0.2)
        assert not response.degraded
        mine = [s for s in mesh.spans.get_finished_spans() if trace_of(s) == response.trace_id]
        assert {str(s.resource.attributes["service.name"]) for s in mine} == SERVICES
        assert batch_sizes(mine, CANDIDATES_ITEM) == [1]
        assert batch_sizes(mine, RANK_ITEM) == [1]
        assert batch_sizes(mine, FEATURES_ITEM) == [1]
        # The front's own batch spans: one item each, in the request's trace.
        assert batch_sizes(mine, "coalesced GetCandidates") == [1]
        assert batch_sizes(mine, "coalesced Rank") == [1]

    run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)
