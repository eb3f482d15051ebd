"""The real serving mesh (real etcd, four real gRPC servers on loopback) end to end."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import structlog
from structlog.testing import LogCapture

from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.data.dataset import Dataset
from recmesh.etcd.local_server import LocalEtcd
from recmesh.telemetry.logging import add_trace_context
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import RunningMesh, write_pointer
from tests.services.mesh_calls import recommend, run_mesh, wait_for_version
from tests.services.traffic import Traffic

USERS = ("196", "186", "22", "244", "166", "298", "115", "253", "305", "6")


def test_known_user_gets_k_unrated_items_from_the_model(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, ml100k: Dataset, tmp_path: Path
) -> None:
    """A known ml-100k user gets k items, none already rated, ranked by the XGBoost version."""

    async def scenario(mesh: RunningMesh) -> None:
        response = await recommend(mesh.front, "196", k=10)
        rated = ml100k.interactions.items[ml100k.interactions.users == 196]
        items = [item.item_id for item in response.items]
        assert len(items) == 10
        assert len(set(items)) == 10
        assert not np.isin(items, rated).any()
        assert response.serving_version == serving_versions.xgboost.version_id
        assert not response.degraded
        assert all(item.title for item in response.items)

    run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)


def test_unknown_user_gets_popularity_items(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """A user the data has never seen gets the popularity path, not an error."""

    async def scenario(mesh: RunningMesh) -> None:
        response = await recommend(mesh.front, "no-such-user", k=5)
        assert len(response.items) == 5
        assert {item.source for item in response.items} == {"popularity"}
        assert not response.degraded

    run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)


def test_answers_are_logged_as_impressions_and_counted_in_metrics(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """Every answer becomes one impression line (ids, trace, items, version, degraded) and
    the front's Prometheus metrics count the calls by method and code."""
    from prometheus_client import generate_latest

    responses: list[recommend_pb2.RecommendResponse] = []
    exposition: list[str] = []

    async def scenario(mesh: RunningMesh) -> None:
        for user in ("196", "22", "unknown-user"):
            responses.append(await recommend(mesh.front, user, k=3))
        exposition.append(generate_latest(mesh.metrics["recommend"].registry).decode())

    run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)
    records = [
        json.loads(line) for line in (tmp_path / "impressions.jsonl").read_text().splitlines()
    ]
    by_request = {r["request_id"]: r for r in records}
    for response in responses:
        record = by_request[response.request_id]
        assert record["trace_id"] == response.trace_id
        assert record["serving_version"] == response.serving_version
        assert [i["item_id"] for i in record["items"]] == [i.item_id for i in response.items]
        assert record["degraded"] is False
    assert (
        'recmesh_rpc_requests_total{code="OK",component="recommend",method="Recommend"}'
        in exposition[0]
    )


def test_every_server_answers_reflection_with_its_services(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """grpcurl-style discovery works on each of the four servers: reflection lists the
    server's own service, health and reflection."""
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    listed: dict[str, set[str]] = {}

    async def scenario(mesh: RunningMesh) -> None:
        for handle in mesh.handles():
            async with grpc.aio.insecure_channel(f"127.0.0.1:{handle.port}") as channel:
                call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
                )
                listed[handle.component] = {
                    s.name async for r in call for s in r.list_services_response.service
                }

    run_mesh(etcd_server, serving_versions, tmp_path, "baseline", scenario)
    common = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
    assert listed == {
        "recommend": {
            "recmesh.recommend.v1.RecommendService",
            "recmesh.recommend.v1.InteractionLogService",
            *common,
        },
        "candidates": {"recmesh.candidates.v1.CandidatesService", *common},
        "features": {"recmesh.features.v1.FeaturesService", *common},
        "ranking": {"recmesh.ranking.v1.RankingService", *common},
    }


@pytest.mark.parametrize(
    ("user", "k"), [("", 10), ("196", 0), ("196", -3), ("196", 1001), ("x" * 500, 10)]
)
def test_bad_requests_are_invalid_argument(
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    tmp_path: Path,
    user: str,
    k: int,
) -> None:
    """Empty or oversized user ids and k outside 1..1000 get INVALID_ARGUMENT with a reason."""

    async def scenario(mesh: RunningMesh) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await recommend(mesh.front, user, k=k)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert caught.value.details()

    run_mesh(etcd_server, serving_versions, tmp_path, "baseline", scenario)


def test_one_trace_spans_all_four_services_and_logs_carry_it(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """One Recommend yields one trace with server spans of recommend, candidates, ranking
    and features; a log written while serving carries that trace's id."""
    capture = LogCapture()
    structlog.configure(processors=[add_trace_context, capture])

    async def scenario(mesh: RunningMesh) -> None:
        mesh.spans.clear()
        response = await recommend(mesh.front, "196", k=10)
        await asyncio.sleep(0.2)
        spans = [
            s
            for s in mesh.spans.get_finished_spans()
            if s.context is not None and format(s.context.trace_id, "032x") == response.trace_id
        ]
        services = {str(s.resource.attributes["service.name"]) for s in spans}
        assert services == {
            "recmesh-recommend",
            "recmesh-candidates",
            "recmesh-ranking",
            "recmesh-features",
        }
        front = [s for s in spans if s.name.endswith("/Recommend") and s.parent is None]
        assert len(front) == 1
        assert front[0].attributes is not None
        assert front[0].attributes["recmesh.serving_version"] == response.serving_version
        with pytest.raises(grpc.aio.AioRpcError):
            await recommend(mesh.front, "", k=10)

    try:
        run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)
    finally:
        structlog.reset_defaults()
    errors = [e for e in capture.entries if e["event"] == "rpc_error"]
    assert errors
    assert all(len(e["trace_id"]) == 32 for e in errors)


def test_pointer_switch_under_traffic_drops_nothing_and_never_mixes_versions(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """Moving the pointer while requests flow: no request fails, each names one version,
    and every request sent after the first new-version answer names the new version."""
    old, new = serving_versions.baseline, serving_versions.xgboost

    async def scenario(mesh: RunningMesh) -> None:
        traffic = Traffic(mesh.front, USERS, rate=100)
        runner = asyncio.create_task(traffic.run())
        await asyncio.sleep(1.0)
        await write_pointer(etcd_server, new.version_id, new.manifest_sha256)
        await wait_for_version(mesh.front, new.version_id)
        await asyncio.sleep(1.0)
        traffic.stop()
        await runner
        assert traffic.errors() == []
        versions = [o.response.serving_version for o in traffic.outcomes if o.response]
        assert set(versions) == {old.version_id, new.version_id}
        first_new = min(
            o.finished
            for o in traffic.outcomes
            if o.response and o.response.serving_version == new.version_id
        )
        later = [o for o in traffic.outcomes if o.started > first_new]
        assert later
        assert all(o.response and o.response.serving_version == new.version_id for o in later)
        assert not any(o.response and o.response.degraded for o in traffic.outcomes)

    run_mesh(etcd_server, serving_versions, tmp_path, "baseline", scenario)


def test_corrupted_artifact_is_refused_and_old_version_keeps_serving(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """A pointer to a version whose model file is corrupted: every service that loads it
    refuses it, logs the refusal and counts it, and the old version keeps answering."""
    from recmesh.artifacts.store import LocalArtifactStore
    from recmesh.bundle.manifest import BlobRef, BundleManifest, version_id_of

    store = LocalArtifactStore(serving_versions.store_dir)
    good = serving_versions.xgboost.manifest
    assert good.model is not None
    broken_model = store.put_bytes(b"corrupted " + bytes(16))
    manifest = BundleManifest(
        kind=good.kind,
        snapshot=good.snapshot,
        model=BlobRef(broken_model.sha256, broken_model.size_bytes),
        feature_names=good.feature_names,
        feature_schema_fingerprint=good.feature_schema_fingerprint,
        dataset_name=good.dataset_name,
        dataset_fingerprint=good.dataset_fingerprint,
    )
    stored = store.put_bytes(manifest.to_json_bytes())
    store.path_of(broken_model.sha256).write_bytes(b"flipped bytes on disk")
    capture = LogCapture()
    structlog.configure(processors=[capture])

    async def scenario(mesh: RunningMesh) -> None:
        await write_pointer(etcd_server, version_id_of(stored.sha256), stored.sha256)
        ranking_refusals = mesh.metrics["ranking"].refused_versions.labels("ranking")
        deadline = time.monotonic() + 20
        while ranking_refusals._value.get() < 1:
            assert time.monotonic() < deadline, "ranking never refused the corrupted version"
            await asyncio.sleep(0.05)
        for _ in range(20):
            response = await recommend(mesh.front, "196")
            assert response.serving_version == serving_versions.baseline.version_id
            assert not response.degraded

    try:
        run_mesh(etcd_server, serving_versions, tmp_path, "baseline", scenario)
    finally:
        structlog.reset_defaults()
    refusals = [e for e in capture.entries if e["event"] == "serving_version_refused"]
    assert any(e["component"] == "ranking" and "checksum" in e["reason"] for e in refusals)


def test_ranking_stopped_mid_traffic_answers_degraded(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """With the ranking server gone, Recommend still answers every request, marked
    degraded (ranking unavailable) with candidates in source order; the front's
    metrics count the degraded answers by reason and time every call."""
    from prometheus_client import generate_latest

    async def scenario(mesh: RunningMesh) -> None:
        traffic = Traffic(mesh.front, USERS, rate=100)
        runner = asyncio.create_task(traffic.run())
        await asyncio.sleep(0.7)
        await mesh.ranking.server.stop(0)
        await asyncio.sleep(1.0)
        traffic.stop()
        await runner
        assert traffic.errors() == []
        degraded = [r for r in traffic.responses() if r.degraded]
        assert degraded
        assert {r.degraded_reason for r in degraded} == {
            recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE
        }
        assert all(len(r.items) == 10 for r in traffic.responses())
        last = traffic.responses()[-1]
        assert last.degraded
        exposition = generate_latest(mesh.metrics["recommend"].registry).decode()
        labels = 'component="recommend",reason="ranking_unavailable"'
        assert f"recmesh_degraded_answers_total{{{labels}}} {float(len(degraded))}" in exposition
        timed = re.search(
            r'recmesh_rpc_latency_seconds_count\{component="recommend",method="Recommend"\} '
            r"([0-9.]+)",
            exposition,
        )
        assert timed is not None
        # the traffic's calls, and wait_for_version's probes before it
        assert float(timed.group(1)) >= len(traffic.responses())

    run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)
