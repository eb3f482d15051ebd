"""The reasons a Rank failure carries in its status (`RankErrorReason` in
protos/recmesh/ranking/v1/ranking.proto): built by ranking, read by the front."""

from __future__ import annotations

from google.rpc.error_details_pb2 import ErrorInfo

from recmesh.api.ranking.v1 import ranking_pb2

#: The ErrorInfo domain of Rank failures: the proto package that defines the reasons.
DOMAIN = ranking_pb2.DESCRIPTOR.package
FEATURES_UNAVAILABLE = ranking_pb2.RankErrorReason.Name(
    ranking_pb2.RANK_ERROR_REASON_FEATURES_UNAVAILABLE
)


def features_unavailable() -> ErrorInfo:
    """Ranking answered, but features failed, was late or sent a malformed reply."""
    return ErrorInfo(domain=DOMAIN, reason=FEATURES_UNAVAILABLE)
