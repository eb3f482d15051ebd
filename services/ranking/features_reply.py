"""The features service's reply, checked against what ranking asked for."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import numpy as np
from numpy.typing import NDArray

from recmesh.api.common.v1 import batch_pb2
from recmesh.api.features.v1 import features_pb2
from recmesh.core.ranking.model import RankingModel
from recmesh.wire.arrays import ArrayPayloadError, decode_matrix
from services.common.downstream_errors import MalformedReplyError


def decode_features(
    response: features_pb2.GetFeaturesResponse,
    serving_version: str,
    model: RankingModel,
    candidates: int,
) -> NDArray[np.float32]:
    """The candidates x features matrix the model scores: one row per candidate, of the
    serving version asked for, in the model's feature schema. Raises MalformedReplyError
    naming what is wrong."""
    if response.serving_version != serving_version:
        raise MalformedReplyError(
            f"features answered for version {response.serving_version!r}, not {serving_version!r}"
        )
    if response.schema_fingerprint != model.schema_fingerprint:
        raise MalformedReplyError(
            f"feature schema mismatch: the model expects {model.schema_fingerprint[:12]}, "
            f"features sent {response.schema_fingerprint[:12]}"
        )
    try:
        matrix = decode_matrix(response.features, "features")
    except ArrayPayloadError as exc:
        raise MalformedReplyError(f"features sent a bad matrix: {exc}") from exc
    if matrix.shape != (candidates, len(model.feature_names)):
        raise MalformedReplyError(
            f"features sent a {matrix.shape[0]} x {matrix.shape[1]} matrix for "
            f"{candidates} candidates x {len(model.feature_names)} features"
        )
    return matrix


#: Item statuses that count against the features replica that gave them, as the same
#: status of a unary call would (without an ErrorInfo; see downstream_errors.judge).
_REPLICA_FAILURES = frozenset(
    code.value[0]
    for code in (
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.UNIMPLEMENTED,
    )
)


def counts_against_replica(status: batch_pb2.ItemStatus) -> bool:
    """An item's failed status that says the replica failed or is not keeping up."""
    return status.code in _REPLICA_FAILURES and not status.details


class EveryItemFailedError(MalformedReplyError):
    """Every item of a GetFeaturesBatch failed against the replica (a failure-class
    status without a reason, or a malformed matrix): raised out of the Downstream call so
    the replica's breaker counts it as one failed call, carrying each item's outcome."""

    def __init__(self, message: str, outcomes: Sequence[NDArray[np.float32] | Exception]) -> None:
        super().__init__(message)
        self.outcomes = list(outcomes)
