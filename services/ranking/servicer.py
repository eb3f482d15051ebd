"""The Rank RPC: features from the features service, XGBoost scores, top k.

Ranking asks the features service itself so the 500 x d feature matrix
never travels through the front. It gives features only part of its own
remaining time (`DeadlineReserve`), so that when features fails, is late,
is ejected or sends a malformed reply, ranking still answers in time:
UNAVAILABLE with the RANK_ERROR_REASON_FEATURES_UNAVAILABLE ErrorInfo, which
the front reports as its degraded reason.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import grpc
import numpy as np
from numpy.typing import NDArray
from opentelemetry import trace

from recmesh.api.features.v1 import features_pb2, features_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.core.ranking.model import RankingModel, top_k_positions
from recmesh.core.ranking.version import RankingVersion
from recmesh.rpc.errors import InvalidArgumentError
from recmesh.wire.arrays import ArrayPayloadError, encode_float32, encode_int64
from recmesh.wire.candidate_codec import decode_candidates
from recmesh.wire.ids import check_serving_version, check_user_id
from recmesh.wire.limits import MAX_K
from services.common.deadline_reserve import DeadlineReserve
from services.common.downstream import Downstream
from services.common.downstream_errors import DownstreamCallError, DownstreamError, parsed
from services.common.versions import VersionRegistry
from services.ranking.errors import FeaturesUnavailableError
from services.ranking.features_reply import decode_features

SCORER_XGBOOST = "xgboost"
SCORER_SOURCE_ORDER = "source-order"


class RankingServicer(ranking_pb2_grpc.RankingServiceServicer):
    def __init__(
        self,
        versions: VersionRegistry[RankingVersion],
        features: Downstream[features_pb2_grpc.FeaturesServiceAsyncStub],
        reserve: DeadlineReserve,
        default_timeout_s: float = 0.5,
    ) -> None:
        self._versions = versions
        self._features = features
        self._reserve = reserve
        self._default_timeout_s = default_timeout_s

    async def Rank(
        self, request: ranking_pb2.RankRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ranking_pb2.RankResponse:
        check_user_id(request.user_id)
        check_serving_version(request.serving_version)
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
        model = version.model
        remaining = context.time_remaining()
        matrix = await self._features_of(
            request,
            model,
            len(candidates),
            self._default_timeout_s if remaining is None else remaining,
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

    async def _features_of(
        self,
        request: ranking_pb2.RankRequest,
        model: RankingModel,
        candidates: int,
        remaining_s: float,
    ) -> NDArray[np.float32]:
        timeout = self._reserve.pass_down(remaining_s)
        if timeout <= 0:
            raise FeaturesUnavailableError(
                f"features unavailable: {remaining_s * 1000:.1f} ms left, none to pass down"
            )
        try:
            return await self._features.call(
                partial(_get_features, request, model, candidates), timeout
            )
        except DownstreamCallError as exc:
            if exc.code == grpc.StatusCode.INVALID_ARGUMENT:
                # The caller's candidates are bad (unknown items, ...), not features' health.
                raise InvalidArgumentError(
                    f"features refused the candidates: {exc.details}"
                ) from exc
            raise FeaturesUnavailableError(f"features unavailable: {exc}") from exc
        except DownstreamError as exc:
            raise FeaturesUnavailableError(f"features unavailable: {exc}") from exc


async def _get_features(
    request: ranking_pb2.RankRequest,
    model: RankingModel,
    candidates: int,
    stub: features_pb2_grpc.FeaturesServiceAsyncStub,
    timeout: float,  # noqa: ASYNC109 - the gRPC deadline of the call
) -> NDArray[np.float32]:
    response = await stub.GetFeatures(
        features_pb2.GetFeaturesRequest(
            user_id=request.user_id,
            serving_version=request.serving_version,
            candidates=request.candidates,
        ),
        timeout=timeout,
    )
    return decode_features(
        parsed(response, features_pb2.GetFeaturesResponse),
        request.serving_version,
        model,
        candidates,
    )
