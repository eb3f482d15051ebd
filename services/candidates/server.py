"""Wires the candidates server."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import grpc
from opentelemetry.trace import TracerProvider

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.artifacts.factory import open_artifact_store
from recmesh.core.candidates.loaded import LoadedCandidates, load_candidates_version
from recmesh.server.run import ServerHandle
from recmesh.telemetry.metrics import ServerMetrics
from services.candidates.servicer import CandidatesServicer
from services.common.options import CommonOptions
from services.common.serving_process import start_serving_process
from services.common.versions import VersionRegistry

COMPONENT = "candidates"
DEFAULT_PORT = 50052


@dataclass(frozen=True)
class CandidatesConfig:
    common: CommonOptions


async def create_server(
    config: CandidatesConfig, tracer_provider: TracerProvider, metrics: ServerMetrics
) -> ServerHandle:
    store = open_artifact_store(config.common.artifacts_dir)

    def register(server: grpc.aio.Server, registry: VersionRegistry[LoadedCandidates]) -> None:
        candidates_pb2_grpc.add_CandidatesServiceServicer_to_server(
            CandidatesServicer(registry, tracer_provider), server
        )

    return await start_serving_process(
        component=COMPONENT,
        service_full_names=[
            candidates_pb2.DESCRIPTOR.services_by_name["CandidatesService"].full_name
        ],
        options=config.common,
        loader=partial(load_candidates_version, store),
        register=register,
        tracer_provider=tracer_provider,
        metrics=metrics,
    )
