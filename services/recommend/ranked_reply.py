"""Ranking's reply, checked against the candidates the front sent it."""

from __future__ import annotations

import numpy as np

from recmesh.api.ranking.v1 import ranking_pb2
from recmesh.wire.arrays import ArrayPayloadError, decode_float32, decode_int64
from recmesh.wire.candidate_codec import WireCandidates
from services.common.downstream_errors import MalformedReplyError
from services.recommend.answer import Answer


def decode_ranked(
    response: ranking_pb2.RankResponse, serving_version: str, candidates: WireCandidates, k: int
) -> Answer:
    """The ranked answer: min(k, candidates) distinct candidates, best first (scores never
    rise), each item id the candidate's at its position, every score finite. Raises
    MalformedReplyError naming the first thing that is wrong."""
    if response.serving_version != serving_version:
        raise MalformedReplyError(
            f"ranking answered for version {response.serving_version!r}, not {serving_version!r}"
        )
    try:
        item_ids = decode_int64(response.item_ids, "rank.item_ids")
        scores = decode_float32(response.scores, "rank.scores")
        positions = decode_int64(response.candidate_positions, "rank.candidate_positions")
    except ArrayPayloadError as exc:
        raise MalformedReplyError(f"malformed ranking: {exc}") from exc
    count = item_ids.shape[0]
    if scores.shape[0] != count or positions.shape[0] != count:
        raise MalformedReplyError(
            f"ranking sent {count} item ids, {scores.shape[0]} scores and "
            f"{positions.shape[0]} candidate positions"
        )
    expected = min(k, len(candidates))
    if count != expected:
        raise MalformedReplyError(f"ranking sent {count} items, {expected} expected")
    if count and (int(positions.min()) < 0 or int(positions.max()) >= len(candidates)):
        raise MalformedReplyError(
            f"ranking sent candidate positions outside 0..{len(candidates) - 1}"
        )
    if np.unique(positions).shape[0] != count:
        raise MalformedReplyError("ranking sent the same candidate position twice")
    if not np.array_equal(candidates.item_ids[positions], item_ids):
        raise MalformedReplyError(
            "ranking sent item ids that are not the candidates' at their positions"
        )
    if not np.isfinite(scores).all():
        raise MalformedReplyError("ranking sent a score that is NaN or infinite")
    rises = np.flatnonzero(np.diff(scores) > 0)
    if rises.size:
        at = int(rises[0]) + 1
        raise MalformedReplyError(
            f"ranking sent scores that are not best first: {float(scores[at]):g} at rank "
            f"{at} after {float(scores[at - 1]):g}"
        )
    sources = tuple(candidates.sources[i] for i in candidates.source_indices[positions].tolist())
    return Answer(item_ids, scores, sources)
