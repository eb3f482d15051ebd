"""Wires the ranking server: registry of loaded models, features channel, servicer."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import grpc
from opentelemetry.trace import TracerProvider

from recmesh.artifacts.store import LocalArtifactStore
from recmesh.features.v1 import features_pb2, features_pb2_grpc
from recmesh.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.telemetry.metrics import ServerMetrics
from recmesh.telemetry.traced_stub import traced_stub
from services.common.channels import downstream_channel
from services.common.options import CommonOptions
from services.common.runner import ServerHandle
from services.common.serving_process import start_serving_process
from services.common.versions import VersionRegistry
from services.ranking.ranking_version import RankingVersion, load_ranking_version
from services.ranking.servicer import RankingServicer

COMPONENT = "ranking"
DEFAULT_PORT = 50054


@dataclass(frozen=True)
class RankingConfig:
    common: CommonOptions
    features_addresses: tuple[str, ...]


async def create_server(
    config: RankingConfig, tracer_provider: TracerProvider, metrics: ServerMetrics
) -> ServerHandle:
    store = LocalArtifactStore(config.common.artifacts_dir)
    features_channel = downstream_channel(config.features_addresses, config.common.tls)
    features = traced_stub(
        features_pb2_grpc.FeaturesServiceStub,
        features_channel,
        features_pb2.DESCRIPTOR.services_by_name["FeaturesService"],
        tracer_provider,
    )

    def register(server: grpc.aio.Server, registry: VersionRegistry[RankingVersion]) -> None:
        ranking_pb2_grpc.add_RankingServiceServicer_to_server(
            RankingServicer(registry, features), server
        )

    async def close_channel() -> None:
        await features_channel.close(None)

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
