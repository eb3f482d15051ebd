"""The Recommend answer names each item by the dataset's own string id (external_id) when
the item ids are strings: the real front, candidates, features and ranking over the
baseline version of a listening log of track URIs and user names."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import numpy as np

from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.core.baseline import build_baseline_bundle
from recmesh.data.external_ids import external_code
from recmesh.etcd.local_server import LocalEtcd
from services.recommend.front_bundle import load_front_bundle
from tests.services.string_id_mesh import string_id_front
from tests.snapshot.datasets import example_dataset


async def _ask(front: str, user: str) -> recommend_pb2.RecommendResponse:
    async with grpc.aio.insecure_channel(front) as channel:
        return await recommend_pb2_grpc.RecommendServiceStub(channel).Recommend(
            recommend_pb2.RecommendRequest(user_id=user, k=5), timeout=5.0
        )


def test_answers_carry_the_track_uri_beside_its_code(
    etcd_server: LocalEtcd, tmp_path: Path
) -> None:
    """A known user (asked for by name) gets tracks they have not played, each with its
    URI as external_id and the URI's code as item_id; an unknown user's popularity answer
    names its tracks the same way."""

    async def scenario() -> tuple[
        recommend_pb2.RecommendResponse, recommend_pb2.RecommendResponse, set[str]
    ]:
        async with string_id_front(etcd_server, tmp_path) as (front, played):
            known = await _ask(front, "listener-03")
            return known, await _ask(front, "nobody"), played["listener-03"]

    known, unknown, played = asyncio.run(scenario())
    assert not known.degraded
    assert len(known.items) == 5
    for item in known.items:
        assert item.external_id.startswith("spotify:track:")
        assert item.item_id == external_code(item.external_id)
        assert item.external_id not in played
    assert len(unknown.items) == 5
    assert all(item.item_id == external_code(item.external_id) for item in unknown.items)


def test_integer_ids_leave_external_id_empty(tmp_path: Path) -> None:
    """A version whose item ids are integers answers with an empty external_id (the v1
    answer, unchanged); titles are found as before, unknown items get empty strings."""
    store = LocalArtifactStore(tmp_path)
    written = build_baseline_bundle(example_dataset(), store)
    bundle = load_front_bundle(store, written.manifest_sha256)
    ids = np.array([int(bundle.item_ids[1]), 999_999], dtype=np.int64)
    titles, external = bundle.describe(ids)
    assert titles == [bundle.titles[1], ""]
    assert titles[0] != ""
    assert external == ["", ""]
