"""The Rank RPC: features from the features service, XGBoost scores, top k.

Ranking asks the features service itself so the 500 x d feature matrix
never travels through the front. When features fail, it answers UNAVAILABLE
with a message starting "features unavailable", which the front reports as
its degraded reason.
"""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np
from opentelemetry import trace

from recmesh.arrays import ArrayPayloadError, decode_matrix, encode_float32, encode_int64
from recmesh.candidate_codec import decode_candidates
from recmesh.features.v1 import features_pb2, features_pb2_grpc
from recmesh.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.rpc.errors import FailedPreconditionError, InvalidArgumentError, UnavailableError
from services.common.versions import VersionRegistry
from services.ranking.model import top_k_positions
from services.ranking.ranking_version import RankingVersion

MAX_K = 1000
SCORER_XGBOOST = "xgboost"
SCORER_SOURCE_ORDER = "source-order"


class RankingServicer(ranking_pb2_grpc.RankingServiceServicer):
    def __init__(
        self,
        versions: VersionRegistry[RankingVersion],
        features: features_pb2_grpc.FeaturesServiceAsyncStub,
        default_timeout_s: float = 0.5,
    ) -> None:
        self._versions = versions
        self._features = features
        self._default_timeout_s = default_timeout_s

    async def Rank(
        self, request: ranking_pb2.RankRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ranking_pb2.RankResponse:
        if not request.user_id:
            raise InvalidArgumentError("user_id is empty")
        if not request.serving_version:
            raise InvalidArgumentError("serving_version is empty; the front resolves it")
        if request.k < 1 or request.k > MAX_K:
            raise InvalidArgumentError(f"k must be between 1 and {MAX_K}, got {request.k}")
        try:
            candidates = decode_candidates(request.candidates)
        except ArrayPayloadError as exc:
            raise InvalidArgumentError(str(exc)) from exc
        version = (await self._versions.get(request.serving_version)).value
        span = trace.get_current_span()
        span.set_attribute("recmesh.serving_version", request.serving_version)
        span.set_attribute("recmesh.candidates", len(candidates))
        k = min(request.k, len(candidates))
        if version.model is None or k == 0:
            top = np.arange(k, dtype=np.int64)
            return ranking_pb2.RankResponse(
                serving_version=request.serving_version,
                item_ids=encode_int64(candidates.item_ids[top]),
                scores=encode_float32(candidates.source_scores[top]),
                candidate_positions=encode_int64(top),
                scorer=SCORER_SOURCE_ORDER,
            )
        remaining = context.time_remaining()
        try:
            response = await self._features.GetFeatures(
                features_pb2.GetFeaturesRequest(
                    user_id=request.user_id,
                    serving_version=request.serving_version,
                    candidates=request.candidates,
                ),
                timeout=self._default_timeout_s if remaining is None else remaining,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                # The caller's candidates are bad (unknown items, ...), not features' health.
                raise InvalidArgumentError(
                    f"features refused the candidates: {exc.details()}"
                ) from exc
            raise UnavailableError(
                f"features unavailable: {exc.code().name}: {exc.details()}"
            ) from exc
        model = version.model
        if response.schema_fingerprint != model.schema_fingerprint:
            raise FailedPreconditionError(
                "feature schema mismatch: the model of "
                f"{request.serving_version} expects {model.schema_fingerprint[:12]}, "
                f"features sent {response.schema_fingerprint[:12]}"
            )
        try:
            matrix = decode_matrix(response.features, "features")
        except ArrayPayloadError as exc:
            raise FailedPreconditionError(f"features service sent a bad matrix: {exc}") from exc
        if matrix.shape != (len(candidates), len(model.feature_names)):
            raise FailedPreconditionError(
                f"features service sent a {matrix.shape} matrix for {len(candidates)} "
                f"candidates x {len(model.feature_names)} features"
            )
        scores = model.score(matrix)
        positions = top_k_positions(scores, k)
        return ranking_pb2.RankResponse(
            serving_version=request.serving_version,
            item_ids=encode_int64(candidates.item_ids[positions]),
            scores=encode_float32(scores[positions]),
            candidate_positions=encode_int64(positions),
            scorer=SCORER_XGBOOST,
        )
