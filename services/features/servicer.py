"""The GetFeatures RPC: one float32 row per candidate, as little-endian bytes."""

from __future__ import annotations

from typing import Any

import grpc
from opentelemetry import trace

from recmesh.api.features.v1 import features_pb2, features_pb2_grpc
from recmesh.core.features.loaded import LoadedFeatures
from recmesh.rpc.errors import InvalidArgumentError
from recmesh.wire.arrays import ArrayPayloadError, encode_matrix
from recmesh.wire.candidate_codec import decode_candidates
from recmesh.wire.ids import check_serving_version, check_user_id
from services.common.versions import VersionRegistry


class FeaturesServicer(features_pb2_grpc.FeaturesServiceServicer):
    def __init__(self, versions: VersionRegistry[LoadedFeatures]) -> None:
        self._versions = versions

    async def GetFeatures(
        self,
        request: features_pb2.GetFeaturesRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> features_pb2.GetFeaturesResponse:
        check_user_id(request.user_id)
        check_serving_version(request.serving_version)
        try:
            candidates = decode_candidates(request.candidates)
        except ArrayPayloadError as exc:
            raise InvalidArgumentError(str(exc)) from exc
        loaded = (await self._versions.get(request.serving_version)).value
        indices = loaded.snapshot.item_indices_of(candidates.item_ids)
        matrix = loaded.pipeline.compute(
            request.user_id,
            indices,
            candidates.source_indices,
            candidates.source_scores,
            candidates.sources,
        )
        trace.get_current_span().set_attribute("recmesh.candidates", len(candidates))
        schema = loaded.pipeline.schema
        return features_pb2.GetFeaturesResponse(
            serving_version=request.serving_version,
            features=encode_matrix(matrix),
            schema_fingerprint=schema.fingerprint,
            feature_names=list(schema.names) if request.include_feature_names else [],
        )
