"""Ranking's failure that names the features service rather than itself."""

from __future__ import annotations

from google.rpc.error_details_pb2 import ErrorInfo

from recmesh.rpc.errors import UnavailableError
from recmesh.wire.rank_errors import features_unavailable


class FeaturesUnavailableError(UnavailableError):
    """Features failed, was late or sent a malformed reply: UNAVAILABLE carrying the
    RANK_ERROR_REASON_FEATURES_UNAVAILABLE ErrorInfo, which the front acts on."""

    def error_info(self) -> ErrorInfo:
        return features_unavailable()
