"""The GetCandidates RPC over the loaded version's candidate pipeline, and its batch form
GetCandidatesBatch: each item checked as GetCandidates checks it and answered alone,
the items of one serving version generated in one pass of that version's pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.core.candidates.loaded import LoadedCandidates
from recmesh.core.candidates.merger import CandidateList
from recmesh.rpc.errors import InvalidArgumentError, RecmeshError
from recmesh.wire.candidate_codec import encode_candidates
from recmesh.wire.ids import check_serving_version, check_user_id
from recmesh.wire.limits import DEFAULT_CANDIDATES, MAX_CANDIDATES_PER_REQUEST
from services.common.batch_items import (
    BatchItems,
    ItemSlot,
    computed_apart_on_failure,
    shared_span,
    version_groups,
)
from services.common.versions import VersionRegistry

GET_CANDIDATES = "/recmesh.candidates.v1.CandidatesService/GetCandidates"

_Items = BatchItems[candidates_pb2.GetCandidatesRequest, candidates_pb2.GetCandidatesResponse]
_Slot = ItemSlot[candidates_pb2.GetCandidatesRequest, candidates_pb2.GetCandidatesResponse]


def checked_count(request: candidates_pb2.GetCandidatesRequest) -> int:
    """The number of candidates asked for, after GetCandidates' checks of the request;
    raises InvalidArgumentError as GetCandidates answers."""
    check_user_id(request.user_id)
    check_serving_version(request.serving_version)
    n = request.max_candidates or DEFAULT_CANDIDATES
    if n > MAX_CANDIDATES_PER_REQUEST:
        raise InvalidArgumentError(f"max_candidates is {n}; at most {MAX_CANDIDATES_PER_REQUEST}")
    return n


def _response(
    loaded: LoadedCandidates, serving_version: str, found: CandidateList, known: bool
) -> candidates_pb2.GetCandidatesResponse:
    return candidates_pb2.GetCandidatesResponse(
        serving_version=serving_version,
        candidates=encode_candidates(
            loaded.snapshot.item_ids[found.item_indices],
            found.source_indices,
            found.source_scores,
            found.sources,
        ),
        known_user=known,
    )


def _generate(
    loaded: LoadedCandidates, counts: dict[int, int], slots: Sequence[_Slot]
) -> list[tuple[CandidateList, bool]]:
    """Each slot's candidates (and whether its user is known), in one batch."""
    return loaded.pipeline.generate_batch(
        [(slot.request.user_id, counts[slot.index]) for slot in slots]
    )


class CandidatesServicer(candidates_pb2_grpc.CandidatesServiceServicer):
    def __init__(
        self,
        versions: VersionRegistry[LoadedCandidates],
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self._versions = versions
        self._tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(
            "recmesh.candidates.batch"
        )

    async def GetCandidates(
        self,
        request: candidates_pb2.GetCandidatesRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> candidates_pb2.GetCandidatesResponse:
        n = checked_count(request)
        loaded = (await self._versions.get(request.serving_version)).value
        found = loaded.pipeline.generate(request.user_id, n)
        known = loaded.pipeline.known_user(request.user_id)
        span = trace.get_current_span()
        span.set_attribute("recmesh.serving_version", request.serving_version)
        span.set_attribute("recmesh.candidates", int(found.item_indices.shape[0]))
        span.set_attribute("recmesh.known_user", known)
        return _response(loaded, request.serving_version, found, known)

    async def GetCandidatesBatch(
        self,
        request: candidates_pb2.GetCandidatesBatchRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> candidates_pb2.GetCandidatesBatchResponse:
        items: _Items = BatchItems.open(
            self._tracer, GET_CANDIDATES, [(item.request, item.context) for item in request.items]
        )
        try:
            counts: dict[int, int] = {}
            for slot in items.slots:
                try:
                    counts[slot.index] = checked_count(slot.request)
                except RecmeshError as error:
                    slot.fail(error)
            groups = await version_groups(
                self._versions, items.pending(), lambda r: r.serving_version
            )
            for version_id, loaded, members in groups:
                alive = items.expire(members)
                if not alive:
                    continue
                with shared_span(
                    self._tracer,
                    "candidates.generate_batch",
                    alive,
                    **{"recmesh.serving_version": version_id},
                ):
                    answered = computed_apart_on_failure(alive, partial(_generate, loaded, counts))
                for slot, (found, known) in answered:
                    slot.span.set_attribute("recmesh.serving_version", version_id)
                    slot.span.set_attribute("recmesh.candidates", int(found.item_indices.shape[0]))
                    slot.span.set_attribute("recmesh.known_user", known)
                    slot.answer(_response(loaded, version_id, found, known))
        except BaseException:
            items.abandon()
            raise
        return candidates_pb2.GetCandidatesBatchResponse(
            results=[
                candidates_pb2.GetCandidatesBatchResult(status=status, response=response)
                for status, response in items.finish()
            ]
        )
