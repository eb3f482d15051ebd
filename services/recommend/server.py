"""Wires the Recommend front: versions, downstream channels, impressions, servicer."""

from __future__ import annotations

import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import grpc
from opentelemetry.trace import TracerProvider

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.api.recommend.v1 import (
    interactions_pb2,
    interactions_pb2_grpc,
    recommend_pb2,
    recommend_pb2_grpc,
)
from recmesh.artifacts.factory import open_artifact_store
from recmesh.interactions.log_writer import InteractionLogWriter
from recmesh.server.run import ServerHandle
from recmesh.telemetry.metrics import ServerMetrics
from recmesh.telemetry.traced_stub import traced_stub
from recmesh.wire.limits import DEFAULT_CANDIDATES
from services.common.coalesced_downstream import BatchingOptions
from services.common.downstream import DownstreamPolicy, connect_downstream
from services.common.options import CommonOptions
from services.common.readiness import front_readiness
from services.common.serving_process import start_serving_process
from services.common.versions import VersionRegistry
from services.recommend.budget import BudgetPolicy
from services.recommend.front_bundle import FrontBundle, load_front_bundle
from services.recommend.impressions import DiscardingImpressionLog, ImpressionLog
from services.recommend.interactions import InteractionLogServicer
from services.recommend.servicer import RecommendServicer

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


async def create_server(
    config: RecommendConfig, tracer_provider: TracerProvider, metrics: ServerMetrics
) -> ServerHandle:
    store = open_artifact_store(config.common.artifacts_dir)
    candidates = await connect_downstream(
        "candidates",
        config.candidates_addresses,
        lambda channel: traced_stub(
            candidates_pb2_grpc.CandidatesServiceStub,
            channel,
            candidates_pb2.DESCRIPTOR.services_by_name["CandidatesService"],
            tracer_provider,
        ),
        metrics,
        config.common.tls,
        config.downstream_policy,
    )
    ranking = await connect_downstream(
        "ranking",
        config.ranking_addresses,
        lambda channel: traced_stub(
            ranking_pb2_grpc.RankingServiceStub,
            channel,
            ranking_pb2.DESCRIPTOR.services_by_name["RankingService"],
            tracer_provider,
        ),
        metrics,
        config.common.tls,
        config.downstream_policy,
    )
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

    def register(server: grpc.aio.Server, registry: VersionRegistry[FrontBundle]) -> None:
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
        )
        servicers.append(servicer)
        recommend_pb2_grpc.add_RecommendServiceServicer_to_server(servicer, server)
        interactions_pb2_grpc.add_InteractionLogServiceServicer_to_server(
            InteractionLogServicer(registry, interaction_log, log_writes), server
        )

    async def close() -> None:
        for servicer in servicers:
            await servicer.close()
        await candidates.close()
        await ranking.close()
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
        background=[impressions.run],
        closers=[close],
        # The front resolves each request's version itself: ready while it holds one.
        readiness=front_readiness,
    )
