"""RecordInteractions on the real front: checked, appended whole, refused with reasons."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest

from recmesh.api.recommend.v1 import (
    interactions_pb2,
    interactions_pb2_grpc,
    recommend_pb2,
    recommend_pb2_grpc,
)
from recmesh.data.external_ids import external_code
from recmesh.etcd.local_server import LocalEtcd
from recmesh.interactions.log_reader import read_log
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import RunningMesh, running_mesh, write_pointer
from tests.services.mesh_calls import wait_for_version
from tests.services.string_id_mesh import string_id_front

if TYPE_CHECKING:
    Stub = interactions_pb2_grpc.InteractionLogServiceAsyncStub
    Scenario = Callable[[RunningMesh, Stub], Awaitable[None]]


def _run(
    etcd: LocalEtcd,
    versions: ServingVersions,
    tmp_path: Path,
    scenario: Scenario,
    log_dir: Path | None,
) -> None:
    baseline = versions.baseline

    async def main() -> None:
        await write_pointer(etcd, baseline.version_id, baseline.manifest_sha256)
        async with running_mesh(
            etcd, versions.store_dir, tmp_path / "imp.jsonl", interaction_log=log_dir
        ) as mesh:
            await wait_for_version(mesh.front, baseline.version_id)
            async with grpc.aio.insecure_channel(mesh.front) as channel:
                stub: Stub = interactions_pb2_grpc.InteractionLogServiceStub(channel)
                await scenario(mesh, stub)

    asyncio.run(main())


def _batch(*rows: tuple[str, int, float, int]) -> interactions_pb2.RecordInteractionsRequest:
    return interactions_pb2.RecordInteractionsRequest(
        interactions=[
            interactions_pb2.Interaction(user_id=u, item_id=i, rating=r, timestamp=t)
            for u, i, r, t in rows
        ]
    )


def test_recorded_interactions_are_appended_whole(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """A batch lands in the front's own log file, in order, timestamp 0 as now and
    rating 0 as an implicit 1; the answer names the file."""
    log_dir = tmp_path / "log"

    async def scenario(mesh: RunningMesh, stub: Stub) -> None:
        before = int(time.time())
        response = await stub.RecordInteractions(
            _batch(("196", 50, 5.0, 880000000), ("7000", 172, 0.0, 0)), timeout=5
        )
        assert response.recorded == 2
        assert response.log_file.startswith("recommend-")
        read = read_log(log_dir)
        assert dict(read.rows_per_file) == {response.log_file: 2}
        assert read.interactions.users.tolist() == [196, 7000]
        assert read.interactions.items.tolist() == [50, 172]
        assert read.interactions.ratings.tolist() == [5.0, 1.0]
        assert read.interactions.timestamps[0] == 880000000
        assert before <= read.interactions.timestamps[1] <= time.time() + 1

    _run(etcd_server, serving_versions, tmp_path, scenario, log_dir)


def test_bad_interactions_are_refused_naming_the_first_and_nothing_is_written(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """Unknown item, a user id that is no integer, NaN, a future timestamp, an empty or
    oversized batch: INVALID_ARGUMENT saying which and why; the log stays empty."""
    log_dir = tmp_path / "log"
    future = int(time.time()) + 3600
    cases = [
        (_batch(("196", 50, 5.0, 0), ("196", 99999, 5.0, 0)), "interactions[1].item_id 99999"),
        (_batch(("abc", 50, 5.0, 0)), "interactions[0].user_id 'abc'"),
        (_batch(("196", 50, float("nan"), 0)), "rating is not finite"),
        (_batch(("196", 50, 5.0, future)), "in the future"),
        (_batch(), "no interactions"),
        (_batch(*[("196", 50, 5.0, 0)] * 10_001), "at most 10000"),
    ]

    async def scenario(mesh: RunningMesh, stub: Stub) -> None:
        for request, words in cases:
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await stub.RecordInteractions(request, timeout=5)
            assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert words in (error.value.details() or "")
        assert len(read_log(log_dir).interactions) == 0

    _run(etcd_server, serving_versions, tmp_path, scenario, log_dir)


def test_a_front_without_a_log_says_so(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """No --interaction-log: FAILED_PRECONDITION naming the option."""

    async def scenario(mesh: RunningMesh, stub: Stub) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.RecordInteractions(_batch(("196", 50, 5.0, 0)), timeout=5)
        assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "--interaction-log" in (error.value.details() or "")

    _run(etcd_server, serving_versions, tmp_path, scenario, None)


def test_string_keyed_users_are_recorded_by_the_code_recommend_looks_up(
    etcd_server: LocalEtcd, tmp_path: Path
) -> None:
    """A version whose users are names: the id a client sends to Recommend is the id it
    records with, logged as the code Recommend finds the user by ("12345" too, a name
    there, not user 12345); items by the item_id Recommend answered."""
    log_dir = tmp_path / "log"

    async def scenario() -> int:
        async with (
            string_id_front(etcd_server, tmp_path, log_dir) as (front, _),
            grpc.aio.insecure_channel(front) as channel,
        ):
            answer = await recommend_pb2_grpc.RecommendServiceStub(channel).Recommend(
                recommend_pb2.RecommendRequest(user_id="listener-03", k=2), timeout=5
            )
            item = answer.items[0].item_id
            stub: Stub = interactions_pb2_grpc.InteractionLogServiceStub(channel)
            await stub.RecordInteractions(
                _batch(("listener-03", item, 3.0, 0), ("12345", item, 1.0, 0)), timeout=5
            )
            return item

    item = asyncio.run(scenario())
    logged = read_log(log_dir).interactions
    assert logged.users.tolist() == [external_code("listener-03"), external_code("12345")]
    assert logged.items.tolist() == [item, item]
