"""The candidates service's reply, checked against what the front asked for."""

from __future__ import annotations

from dataclasses import dataclass

from recmesh.api.candidates.v1 import candidates_pb2
from recmesh.api.common.v1 import arrays_pb2
from recmesh.wire.arrays import ArrayPayloadError
from recmesh.wire.candidate_codec import WireCandidates, decode_candidates
from services.common.downstream_errors import MalformedReplyError


@dataclass(frozen=True)
class FoundCandidates:
    """The candidate set as it came (passed on to ranking untouched) and decoded."""

    payload: arrays_pb2.CandidateSet
    decoded: WireCandidates


def decode_found(
    response: candidates_pb2.GetCandidatesResponse, serving_version: str, max_candidates: int
) -> FoundCandidates:
    """Raises MalformedReplyError when the set does not decode (lengths that disagree,
    a source index naming no source), holds more than was asked for, or is of another
    serving version."""
    if response.serving_version != serving_version:
        raise MalformedReplyError(
            f"candidates answered for version {response.serving_version!r}, not {serving_version!r}"
        )
    try:
        decoded = decode_candidates(response.candidates)
    except ArrayPayloadError as exc:
        raise MalformedReplyError(f"malformed candidate set: {exc}") from exc
    if len(decoded) > max_candidates:
        raise MalformedReplyError(
            f"{len(decoded)} candidates sent, at most {max_candidates} asked for"
        )
    return FoundCandidates(response.candidates, decoded)
