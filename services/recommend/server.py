"""Wires the Recommend front: versions, downstream channels, impressions, servicer.

Beside the champion's downstreams the front holds a pair for a STAGED rollout's
challenger arm (services/recommend/servicer.py), named `candidates-challenger` and
`ranking-challenger`, and a pair for shadow scoring (services/recommend/shadow.py),
named `candidates-shadow` and `ranking-shadow`, in metrics and logs: each with its own
channels and breakers over the same replica addresses, never batched, its calls marked
with its arm (services/common/call_arms.py). Only the champion's flow batches. A
staged rollout's counts per arm go to etcd under this process's front id (a new uuid
every start).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from opentelemetry.trace import TracerProvider

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.api.recommend.v1 import (
    interactions_pb2,
    interactions_pb2_grpc,
    recommend_pb2,
    recommend_pb2_grpc,
)
from recmesh.artifacts.factory import open_artifact_store
from recmesh.etcd.keys import KeySchema
from recmesh.interactions.log_writer import InteractionLogWriter
from recmesh.server.run import ServerHandle
from recmesh.telemetry.metrics import ServerMetrics
from recmesh.telemetry.traced_stub import traced_stub
from recmesh.wire.limits import DEFAULT_CANDIDATES
from services.common.call_arms import CallArm
from services.common.coalesced_downstream import NO_BATCHING, BatchingOptions
from services.common.downstream import Downstream, DownstreamPolicy, connect_downstream
from services.common.options import CommonOptions
from services.common.readiness import front_readiness
from services.common.serving_process import start_serving_process
from services.common.versions import VersionRegistry
from services.recommend.admission import Admission
from services.recommend.arm_counter import ArmCounter
from services.recommend.arm_counts_writer import ArmCountsWriter, EtcdPut
from services.recommend.arms import DEFAULT_WARMUP_S
from services.recommend.budget import BudgetPolicy
from services.recommend.flow import RecommendFlow
from services.recommend.front_bundle import FrontBundle, load_front_bundle
from services.recommend.impressions import DiscardingImpressionLog, ImpressionLog
from services.recommend.interactions import InteractionLogServicer
from services.recommend.servicer import RecommendServicer
from services.recommend.shadow import ShadowScorer
from services.recommend.shadow_policy import ShadowPolicy

StubT = TypeVar("StubT")

COMPONENT = "recommend"
DEFAULT_PORT = 50051
# Requests past this many in flight get the in-memory popularity list at once (degraded
# OVERLOADED) instead of queueing for the downstream hops. Little's law sizes it: the
# mesh completes about 150 requests/s on 2 cores, so 32 in flight is about 0.2 s of
# work queued, a typical caller deadline.
DEFAULT_MAX_IN_FLIGHT = 32


@dataclass(frozen=True)
class RecommendConfig:
    common: CommonOptions
    candidates_addresses: tuple[str, ...]
    ranking_addresses: tuple[str, ...]
    impressions_path: Path
    interaction_log_dir: Path | None = None
    max_candidates: int = DEFAULT_CANDIDATES
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    budget: BudgetPolicy = field(default_factory=BudgetPolicy)
    downstream_policy: DownstreamPolicy = field(default_factory=DownstreamPolicy)
    # Coalescing of the calls to candidates and to ranking under load (on by default).
    batching: BatchingOptions = field(default_factory=BatchingOptions)
    # How much shadow scoring the front allows (--shadow-cpu-budget).
    shadow: ShadowPolicy = field(default_factory=ShadowPolicy)
    # Seconds the front holds a rollout's challenger before counting its arms
    # (--rollout-warmup-seconds; services/recommend/arms.py).
    rollout_warmup_s: float = DEFAULT_WARMUP_S


async def create_server(
    config: RecommendConfig, tracer_provider: TracerProvider, metrics: ServerMetrics
) -> ServerHandle:
    store = open_artifact_store(config.common.artifacts_dir)
    candidates_service = candidates_pb2.DESCRIPTOR.services_by_name["CandidatesService"]
    ranking_service = ranking_pb2.DESCRIPTOR.services_by_name["RankingService"]
    candidates, challenger_candidates, shadow_candidates = [
        await _connect(
            config,
            name,
            config.candidates_addresses,
            candidates_pb2_grpc.CandidatesServiceStub,
            candidates_service,
            tracer_provider,
            metrics,
        )
        for name in ("candidates", "candidates-challenger", "candidates-shadow")
    ]
    ranking, challenger_ranking, shadow_ranking = [
        await _connect(
            config,
            name,
            config.ranking_addresses,
            ranking_pb2_grpc.RankingServiceStub,
            ranking_service,
            tracer_provider,
            metrics,
        )
        for name in ("ranking", "ranking-challenger", "ranking-shadow")
    ]
    impressions = (
        ImpressionLog(config.impressions_path)
        if config.common.telemetry.impressions
        else DiscardingImpressionLog()
    )
    interaction_log = (
        None
        if config.interaction_log_dir is None
        # A name no other writer has: fronts sharing a volume (PID 1 in every
        # container) must never append to, or cut, each other's file.
        else InteractionLogWriter(
            config.interaction_log_dir,
            f"{COMPONENT}-{socket.gethostname()}-{uuid.uuid4().hex[:12]}",
        )
    )
    log_writes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="interaction-log")
    servicers: list[RecommendServicer] = []
    shadow_scorers: list[ShadowScorer] = []
    registries: list[VersionRegistry[FrontBundle]] = []

    def named_rollout() -> records_pb2.Rollout | None:
        # The counter frees a stage's counts once the record no longer names it.
        return registries[0].rollout if registries else None

    counter = ArmCounter(f"{COMPONENT}-{uuid.uuid4().hex[:12]}", named_rollout)
    put_counts = EtcdPut(
        list(config.common.etcd_endpoints),
        tls=config.common.etcd_tls,
        credentials=config.common.etcd_credentials,
    )
    counts_writer = ArmCountsWriter(counter, KeySchema(config.common.etcd_prefix), put_counts)

    def register(server: grpc.aio.Server, registry: VersionRegistry[FrontBundle]) -> None:
        registries.append(registry)
        admission = Admission(config.max_in_flight)
        shadows = ShadowScorer(
            flow=RecommendFlow(
                candidates=shadow_candidates,
                ranking=shadow_ranking,
                admission=Admission(config.shadow.max_in_flight),
                policy=config.budget,
                max_candidates=config.max_candidates,
                batching=NO_BATCHING,
                downstream_policy=config.downstream_policy,
                arm=CallArm.SHADOW,
            ),
            champion_admission=admission,
            policy=config.shadow,
            impressions=impressions,
            metrics=metrics,
        )
        shadow_scorers.append(shadows)
        servicer = RecommendServicer(
            versions=registry,
            candidates=candidates,
            ranking=ranking,
            impressions=impressions,
            metrics=metrics,
            policy=config.budget,
            max_candidates=config.max_candidates,
            max_in_flight=config.max_in_flight,
            batching=config.batching,
            tracer=tracer_provider.get_tracer("recmesh.coalescer"),
            downstream_policy=config.downstream_policy,
            admission=admission,
            counter=counter,
            # Nothing would keep a shadow's list with the impression log off.
            shadows=shadows if config.common.telemetry.impressions else None,
            rollout_warmup_s=config.rollout_warmup_s,
            challenger_flow=RecommendFlow(
                candidates=challenger_candidates,
                ranking=challenger_ranking,
                # One limit on the front's answers, whichever arm gives them.
                admission=admission,
                policy=config.budget,
                max_candidates=config.max_candidates,
                batching=NO_BATCHING,
                downstream_policy=config.downstream_policy,
                arm=CallArm.CHALLENGER,
            ),
        )
        servicers.append(servicer)
        recommend_pb2_grpc.add_RecommendServiceServicer_to_server(servicer, server)
        interactions_pb2_grpc.add_InteractionLogServiceServicer_to_server(
            InteractionLogServicer(registry, interaction_log, log_writes), server
        )

    async def close() -> None:
        for servicer in servicers:
            await servicer.close()
        for shadows in shadow_scorers:
            await shadows.close()
        await counts_writer.flush()
        await put_counts.close()
        for downstream in (
            candidates,
            ranking,
            challenger_candidates,
            challenger_ranking,
            shadow_candidates,
            shadow_ranking,
        ):
            await downstream.close()
        await impressions.close()
        log_writes.shutdown(wait=True)
        if interaction_log is not None:
            interaction_log.close()

    return await start_serving_process(
        component=COMPONENT,
        service_full_names=[
            recommend_pb2.DESCRIPTOR.services_by_name["RecommendService"].full_name,
            interactions_pb2.DESCRIPTOR.services_by_name["InteractionLogService"].full_name,
        ],
        options=config.common,
        loader=partial(load_front_bundle, store),
        register=register,
        tracer_provider=tracer_provider,
        metrics=metrics,
        background=[impressions.run, counts_writer.run],
        closers=[close],
        # The front resolves each request's version itself: ready while it holds one.
        readiness=front_readiness,
    )


async def _connect(
    config: RecommendConfig,
    name: str,
    addresses: tuple[str, ...],
    stub_class: Callable[[grpc.aio.Channel], StubT],
    service: ServiceDescriptor,
    tracer_provider: TracerProvider,
    metrics: ServerMetrics,
) -> Downstream[StubT]:
    """The downstream `name`: traced stubs of `service` on every replica address."""
    return await connect_downstream(
        name,
        addresses,
        lambda channel: traced_stub(stub_class, channel, service, tracer_provider),
        metrics,
        config.common.tls,
        config.downstream_policy,
    )
