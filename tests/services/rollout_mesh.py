"""Support for the rollout mesh tests: a pointer record naming a challenger, a front of
the test's own (its shadow policy and limits) over a running mesh's downstreams, and
the front's counts per arm as etcd holds them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from etcd3aio import Etcd3Client
from etcd3aio._protobuf import RangeResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.bundle.writer import WrittenBundle
from recmesh.etcd.keys import KeySchema, prefix_range_end
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.pointer_codec import encode_pointer
from recmesh.etcd.session import EtcdSession
from recmesh.etcd.users import ROOT_USER
from recmesh.rollout.arm_counts import ArmTally, FrontCounts, sum_counts
from recmesh.server.run import ServerHandle
from recmesh.telemetry.metrics import ServerMetrics
from services.recommend.server import RecommendConfig, create_server
from services.recommend.shadow_policy import ShadowPolicy
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import RunningMesh, common_options, put_pointer_value
from tests.pointer_signing import TEST_KEY

KEYS = KeySchema()
#: A shadow policy that sheds only for its in-flight cap: every process of the test
#: mesh shares one Python process, whose CPU the default budget would count.
GENEROUS = ShadowPolicy(cpu_budget=64.0, max_in_flight=64, busy_fraction=1.0)


def rollout(
    challenger: WrittenBundle,
    mode: records_pb2.RolloutMode.ValueType,
    share: float,
    *,
    stage: int = 0,
    rollout_id: str = "r-1",
    experiment_id: str = "exp-1",
    latency_threshold_ms: float = 0.0,
) -> records_pb2.Rollout:
    return records_pb2.Rollout(
        rollout_id=rollout_id,
        experiment_id=experiment_id,
        challenger_version=challenger.version_id,
        challenger_manifest_sha256=challenger.manifest_sha256,
        mode=mode,
        share=share,
        stage=stage,
        latency_threshold_ms=latency_threshold_ms,
    )


async def write_rollout_pointer(
    etcd: LocalEtcd, champion: WrittenBundle, plan: records_pb2.Rollout | None
) -> int:
    """Puts a pointer record naming `champion` and the rollout `plan` (None: none),
    signed with the test key; returns its mod_revision."""
    pointer = records_pb2.ServingPointer(
        serving_version=champion.version_id,
        manifest_sha256=champion.manifest_sha256,
        set_by="test",
        sequence=TEST_KEY.next_sequence(),
    )
    if plan is not None:
        pointer.rollout.CopyFrom(plan)
    signed = TEST_KEY.signer.sign(pointer)
    return await put_pointer_value(
        etcd.endpoint, encode_pointer(signed), root=etcd.credentials(ROOT_USER)
    )


@asynccontextmanager
async def own_front(
    etcd: LocalEtcd,
    versions: ServingVersions,
    mesh: RunningMesh,
    impressions: Path,
    *,
    shadow: ShadowPolicy = GENEROUS,
    max_in_flight: int = 32,
    state_dir: Path | None = None,
    candidates_address: str | None = None,
    rollout_warmup_s: float = 0.0,
    ranking_address: str | None = None,
) -> AsyncIterator[tuple[ServerHandle, ServerMetrics]]:
    """A Recommend front over `mesh`'s candidates (or `candidates_address`) and ranking
    (or `ranking_address`) with the test's shadow policy, in-flight limit and rollout
    warm-up (none unless given: the mesh's services load the challenger before the
    test's requests), its spans in the mesh's exporter; stopped after."""
    provider = TracerProvider(resource=Resource.create({"service.name": "recmesh-recommend"}))
    provider.add_span_processor(SimpleSpanProcessor(mesh.spans))
    metrics = ServerMetrics("recommend")
    handle = await create_server(
        RecommendConfig(
            common=common_options(etcd, versions.store_dir, state_dir=state_dir),
            candidates_addresses=(candidates_address or f"127.0.0.1:{mesh.candidates.port}",),
            ranking_addresses=(ranking_address or f"127.0.0.1:{mesh.ranking.port}",),
            impressions_path=impressions,
            max_in_flight=max_in_flight,
            shadow=shadow,
            rollout_warmup_s=rollout_warmup_s,
        ),
        provider,
        metrics,
    )
    try:
        yield handle, metrics
    finally:
        await handle.stop(0.2)


def impression_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


async def wait_for(
    condition: Callable[[], object], within_s: float = 20.0, what: str = "condition"
) -> None:
    """Polls `condition()` (truthy when met) every 50 ms until it holds."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never held within {within_s} s")
        await asyncio.sleep(0.05)


async def stage_counts(etcd: LocalEtcd, rollout_id: str, stage: int) -> list[FrontCounts]:
    """Every front's counts of the stage as etcd holds them, read as root."""
    session = EtcdSession([etcd.endpoint], credentials=etcd.credentials(ROOT_USER))
    await session.open()
    try:
        prefix = KEYS.rollout_arms_prefix(rollout_id, stage)

        async def read(client: Etcd3Client) -> RangeResponse:
            assert client.kv is not None
            return await client.kv.get(prefix, prefix_range_end(prefix))

        response = await session.call(read)
        return [FrontCounts.decode(bytes(kv.value)) for kv in response.kvs]
    finally:
        await session.close()


async def summed_counts(etcd: LocalEtcd, rollout_id: str, stage: int) -> dict[str, ArmTally]:
    """Every front's counts of the stage added per arm, as the control plane sums them."""
    return sum_counts(await stage_counts(etcd, rollout_id, stage))


def shadow_metric(metrics: ServerMetrics, family: str, label: str, value: str) -> float:
    sample = metrics.registry.get_sample_value(
        f"recmesh_shadow_{family}_total", {"component": "recommend", label: value}
    )
    return sample or 0.0


def ejections(metrics: ServerMetrics, service: str) -> float:
    """How often a replica of the front's downstream `service` was ejected (its
    breaker opened)."""
    return sum(
        sample.value
        for family in metrics.registry.collect()
        if family.name == "recmesh_downstream_ejections"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels.get("service") == service
    )
