"""Rank's GetFeatures calls, coalesced into GetFeaturesBatch under load (issue 16, item 1).

A Rank asks features for its candidates' matrix through `FeaturesClient.matrix`: with
batching on, alone at once while fewer than `max_in_flight` calls to features are in
flight, else together with the other Ranks' requests that arrived meanwhile as one
GetFeaturesBatch when a slot frees (services/common/coalesced_downstream.py). Each
item carries its Rank's trace context and time left, and fails alone with the error
the unary GetFeatures would raise, so Rank answers features' failures as before
(FEATURES_UNAVAILABLE, or INVALID_ARGUMENT for candidates features refused).

RankBatch sends its own GetFeaturesBatch for all its items (services/ranking/servicer.py);
this client is the path of the unary Rank.
"""

from __future__ import annotations

from functools import partial
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray
from opentelemetry import trace

from recmesh.api.features.v1 import features_pb2, features_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2
from recmesh.core.ranking.model import RankingModel
from services.common.coalesced_downstream import (
    NO_BATCHING,
    BatchingOptions,
    BatchRpc,
    CoalescedDownstream,
    batch_call,
)
from services.common.downstream import Downstream, DownstreamPolicy
from services.common.downstream_errors import parsed
from services.ranking.features_reply import decode_features

_Stub: TypeAlias = "features_pb2_grpc.FeaturesServiceAsyncStub"


async def _get_features(
    stub: _Stub,
    request: features_pb2.GetFeaturesRequest,
    timeout: float,  # noqa: ASYNC109 - the gRPC deadline of the call
) -> features_pb2.GetFeaturesResponse | None:
    return await stub.GetFeatures(request, timeout=timeout)


FEATURES_RPC: BatchRpc[_Stub, features_pb2.GetFeaturesRequest, features_pb2.GetFeaturesResponse] = (
    BatchRpc(
        "GetFeatures",
        _get_features,
        batch_call(
            "GetFeaturesBatch",
            features_pb2.GetFeaturesBatchRequest,
            features_pb2.GetFeaturesBatchItem,
            features_pb2.GetFeaturesBatchResponse,
        ),
    )
)


def _decode(
    serving_version: str,
    model: RankingModel,
    candidates: int,
    response: features_pb2.GetFeaturesResponse | None,
) -> NDArray[np.float32]:
    return decode_features(
        parsed(response, features_pb2.GetFeaturesResponse), serving_version, model, candidates
    )


class FeaturesClient:
    """The feature matrix of a Rank's candidates from the features replicas."""

    def __init__(
        self,
        features: Downstream[_Stub],
        batching: BatchingOptions = NO_BATCHING,
        tracer: trace.Tracer | None = None,
        policy: DownstreamPolicy | None = None,
    ) -> None:
        self._calls: CoalescedDownstream[
            _Stub,
            features_pb2.GetFeaturesRequest,
            features_pb2.GetFeaturesResponse,
            NDArray[np.float32],
        ] = CoalescedDownstream(features, FEATURES_RPC, batching, tracer, policy)

    async def matrix(
        self,
        request: ranking_pb2.RankRequest,
        model: RankingModel,
        candidates: int,
        timeout: float,  # noqa: ASYNC109 - the deadline of the call
    ) -> NDArray[np.float32]:
        """The checked matrix (candidates x the model's features); raises a
        DownstreamError as the unary GetFeatures through the Downstream would."""
        return await self._calls.call(
            features_pb2.GetFeaturesRequest(
                user_id=request.user_id,
                serving_version=request.serving_version,
                candidates=request.candidates,
            ),
            partial(_decode, request.serving_version, model, candidates),
            timeout,
        )

    async def close(self) -> None:
        await self._calls.close()
