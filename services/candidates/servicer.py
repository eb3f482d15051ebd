"""The GetCandidates RPC over the loaded version's candidate pipeline."""

from __future__ import annotations

from typing import Any

import grpc
from opentelemetry import trace

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.core.candidates.loaded import LoadedCandidates
from recmesh.rpc.errors import InvalidArgumentError
from recmesh.wire.candidate_codec import encode_candidates
from recmesh.wire.ids import check_serving_version, check_user_id
from recmesh.wire.limits import DEFAULT_CANDIDATES, MAX_CANDIDATES_PER_REQUEST
from services.common.versions import VersionRegistry


class CandidatesServicer(candidates_pb2_grpc.CandidatesServiceServicer):
    def __init__(self, versions: VersionRegistry[LoadedCandidates]) -> None:
        self._versions = versions

    async def GetCandidates(
        self,
        request: candidates_pb2.GetCandidatesRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> candidates_pb2.GetCandidatesResponse:
        check_user_id(request.user_id)
        check_serving_version(request.serving_version)
        n = request.max_candidates or DEFAULT_CANDIDATES
        if n > MAX_CANDIDATES_PER_REQUEST:
            raise InvalidArgumentError(
                f"max_candidates is {n}; at most {MAX_CANDIDATES_PER_REQUEST}"
            )
        loaded = (await self._versions.get(request.serving_version)).value
        found = loaded.pipeline.generate(request.user_id, n)
        known = loaded.pipeline.known_user(request.user_id)
        span = trace.get_current_span()
        span.set_attribute("recmesh.serving_version", request.serving_version)
        span.set_attribute("recmesh.candidates", int(found.item_indices.shape[0]))
        span.set_attribute("recmesh.known_user", known)
        return candidates_pb2.GetCandidatesResponse(
            serving_version=request.serving_version,
            candidates=encode_candidates(
                loaded.snapshot.item_ids[found.item_indices],
                found.source_indices,
                found.source_scores,
                found.sources,
            ),
            known_user=known,
        )
