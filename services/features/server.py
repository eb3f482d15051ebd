"""Wires the features server."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import grpc
from opentelemetry.trace import TracerProvider

from recmesh.api.features.v1 import features_pb2, features_pb2_grpc
from recmesh.artifacts.factory import open_artifact_store
from recmesh.core.features.loaded import LoadedFeatures, load_features_version
from recmesh.server.run import ServerHandle
from recmesh.telemetry.metrics import ServerMetrics
from services.common.options import CommonOptions
from services.common.serving_process import start_serving_process
from services.common.versions import VersionRegistry
from services.features.servicer import FeaturesServicer

COMPONENT = "features"
DEFAULT_PORT = 50053


@dataclass(frozen=True)
class FeaturesConfig:
    common: CommonOptions


async def create_server(
    config: FeaturesConfig, tracer_provider: TracerProvider, metrics: ServerMetrics
) -> ServerHandle:
    store = open_artifact_store(config.common.artifacts_dir)

    def register(server: grpc.aio.Server, registry: VersionRegistry[LoadedFeatures]) -> None:
        features_pb2_grpc.add_FeaturesServiceServicer_to_server(
            FeaturesServicer(registry, tracer_provider), server
        )

    return await start_serving_process(
        component=COMPONENT,
        service_full_names=[features_pb2.DESCRIPTOR.services_by_name["FeaturesService"].full_name],
        options=config.common,
        loader=partial(load_features_version, store),
        register=register,
        tracer_provider=tracer_provider,
        metrics=metrics,
    )
