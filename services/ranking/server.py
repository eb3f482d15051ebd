"""Wires the ranking server: registry of loaded models, features replicas, servicer."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import grpc
from opentelemetry.trace import TracerProvider

from recmesh.api.features.v1 import features_pb2, features_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.artifacts.factory import open_artifact_store
from recmesh.core.ranking.version import RankingVersion, load_ranking_version
from recmesh.server.run import ServerHandle
from recmesh.telemetry.metrics import ServerMetrics
from recmesh.telemetry.traced_stub import traced_stub
from services.common.coalesced_downstream import BatchingOptions
from services.common.deadline_reserve import DeadlineReserve
from services.common.downstream import DownstreamPolicy, connect_downstream
from services.common.options import CommonOptions
from services.common.serving_process import start_serving_process
from services.common.versions import VersionRegistry
from services.ranking.features_client import FeaturesClient
from services.ranking.scoring_lanes import DEFAULT_SHED_ABOVE, ScoringLanes
from services.ranking.servicer import RankingServicer

COMPONENT = "ranking"
DEFAULT_PORT = 50054


@dataclass(frozen=True)
class RankingConfig:
    common: CommonOptions
    features_addresses: tuple[str, ...]
    # Kept of each Rank's deadline for scoring and answering when features is late.
    reserve: DeadlineReserve = field(default_factory=DeadlineReserve)
    features_policy: DownstreamPolicy = field(default_factory=DownstreamPolicy)
    # Coalescing of Rank's GetFeatures calls under load (on by default).
    batching: BatchingOptions = field(default_factory=BatchingOptions)
    # Shadow Ranks are shed while more answering (champion or staged challenger) Rank
    # items are in flight (--shadow-shed-above; services/ranking/scoring_lanes.py).
    shadow_shed_above: int = DEFAULT_SHED_ABOVE


async def create_server(
    config: RankingConfig, tracer_provider: TracerProvider, metrics: ServerMetrics
) -> ServerHandle:
    store = open_artifact_store(config.common.artifacts_dir)
    features = await connect_downstream(
        "features",
        config.features_addresses,
        lambda channel: traced_stub(
            features_pb2_grpc.FeaturesServiceStub,
            channel,
            features_pb2.DESCRIPTOR.services_by_name["FeaturesService"],
            tracer_provider,
        ),
        metrics,
        config.common.tls,
        config.features_policy,
    )

    features_client = FeaturesClient(
        features,
        config.batching,
        tracer_provider.get_tracer("recmesh.coalescer"),
        config.features_policy,
    )

    lanes = ScoringLanes(config.shadow_shed_above)

    def register(server: grpc.aio.Server, registry: VersionRegistry[RankingVersion]) -> None:
        ranking_pb2_grpc.add_RankingServiceServicer_to_server(
            RankingServicer(
                registry,
                features,
                config.reserve,
                tracer_provider=tracer_provider,
                features_client=features_client,
                lanes=lanes,
            ),
            server,
        )

    async def close_channel() -> None:
        lanes.close()
        await features_client.close()
        await features.close()

    return await start_serving_process(
        component=COMPONENT,
        service_full_names=[ranking_pb2.DESCRIPTOR.services_by_name["RankingService"].full_name],
        options=config.common,
        loader=partial(load_ranking_version, store),
        register=register,
        tracer_provider=tracer_provider,
        metrics=metrics,
        closers=[close_channel],
    )
