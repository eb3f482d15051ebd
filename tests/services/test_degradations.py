"""Malformed and late candidates and features replies degrade the front's answer with
their own reason, never UNKNOWN: real front, candidates and ranking servers on port 0
(real etcd, the XGBoost version), with one downstream replaced by a real gRPC server
that answers wrongly or late. Ranking's replies: test_ranking_degradations.py."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from recmesh.api.candidates.v1 import candidates_pb2
from recmesh.api.common.v1 import arrays_pb2
from recmesh.api.features.v1 import features_pb2
from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.etcd.local_server import LocalEtcd
from recmesh.wire.arrays import encode_float32, encode_matrix
from recmesh.wire.candidate_codec import decode_candidates, encode_candidates
from tests.fixtures_serving import ServingVersions
from tests.services.degraded_front import assert_degraded, recommend, run
from tests.services.downstream_fakes import (
    CandidatesHandler,
    Context,
    FeaturesHandler,
)

# --- candidates replies ----------------------------------------------------------------


def _candidates_reply(
    request: candidates_pb2.GetCandidatesRequest, candidate_set: arrays_pb2.CandidateSet
) -> candidates_pb2.GetCandidatesResponse:
    return candidates_pb2.GetCandidatesResponse(
        serving_version=request.serving_version, candidates=candidate_set, known_user=True
    )


def _set(n: int, sources: tuple[str, ...] = ("cooccurrence",)) -> arrays_pb2.CandidateSet:
    return encode_candidates(
        np.arange(1, n + 1, dtype=np.int64),
        np.zeros(n, dtype=np.uint8),
        np.ones(n, dtype=np.float32),
        sources,
    )


async def _lengths_disagree(
    request: candidates_pb2.GetCandidatesRequest, _: Context
) -> candidates_pb2.GetCandidatesResponse:
    candidate_set = _set(20)
    candidate_set.source_scores.CopyFrom(encode_float32(np.ones(19, dtype=np.float32)))
    return _candidates_reply(request, candidate_set)


async def _source_index_out_of_range(
    request: candidates_pb2.GetCandidatesRequest, _: Context
) -> candidates_pb2.GetCandidatesResponse:
    candidate_set = _set(20)
    candidate_set.source_indices = bytes([0] * 19 + [7])
    return _candidates_reply(request, candidate_set)


async def _more_than_asked(
    request: candidates_pb2.GetCandidatesRequest, _: Context
) -> candidates_pb2.GetCandidatesResponse:
    return _candidates_reply(request, _set(request.max_candidates + 1))


async def _other_version(
    request: candidates_pb2.GetCandidatesRequest, _: Context
) -> candidates_pb2.GetCandidatesResponse:
    reply = _candidates_reply(request, _set(20))
    reply.serving_version = "sv-someotherversion"
    return reply


@pytest.mark.parametrize(
    ("handler", "detail"),
    [
        (_lengths_disagree, "20 item ids but 19 scores"),
        (_source_index_out_of_range, "source index 7 but only 1 sources named"),
        (_more_than_asked, "501 candidates sent, at most 500 asked for"),
        (_other_version, "answered for version 'sv-someotherversion'"),
    ],
    ids=["lengths-disagree", "source-index-out-of-range", "more-than-asked", "other-version"],
)
def test_malformed_candidate_set_gives_candidates_unavailable(
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    tmp_path: Path,
    handler: CandidatesHandler,
    detail: str,
) -> None:
    """A candidate set that does not decode, holds more than was asked for or belongs to
    another version is answered from popularity with CANDIDATES_UNAVAILABLE naming it."""

    async def scenario(front: str) -> None:
        assert_degraded(
            await recommend(front), recommend_pb2.DEGRADED_REASON_CANDIDATES_UNAVAILABLE, detail
        )

    run(etcd_server, serving_versions, tmp_path, scenario, candidates=handler)


# --- features replies (behind ranking) -------------------------------------------------


async def _bad_matrix(
    request: features_pb2.GetFeaturesRequest, _: Context
) -> features_pb2.GetFeaturesResponse:
    reply = await _wide_matrix(request, _)
    reply.features.data = reply.features.data[:-3]
    return reply


async def _wide_matrix(
    request: features_pb2.GetFeaturesRequest, _: Context
) -> features_pb2.GetFeaturesResponse:
    rows = len(decode_candidates(request.candidates))
    return features_pb2.GetFeaturesResponse(
        serving_version=request.serving_version,
        features=encode_matrix(np.zeros((rows, 500), dtype=np.float32)),
        schema_fingerprint="0" * 64,
    )


@pytest.mark.parametrize(
    ("handler", "detail"),
    [(_bad_matrix, "features unavailable"), (_wide_matrix, "feature schema mismatch")],
    ids=["undecodable-matrix", "wrong-schema"],
)
def test_malformed_features_reply_gives_features_unavailable(
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    tmp_path: Path,
    handler: FeaturesHandler,
    detail: str,
) -> None:
    """A features reply ranking cannot score (bytes that do not hold the matrix, another
    feature schema) reaches the front as FEATURES_UNAVAILABLE, not as ranking's failure."""

    async def scenario(front: str) -> None:
        assert_degraded(
            await recommend(front), recommend_pb2.DEGRADED_REASON_FEATURES_UNAVAILABLE, detail
        )

    run(etcd_server, serving_versions, tmp_path, scenario, features=handler)


# --- late downstreams ------------------------------------------------------------------


async def _late_features(
    request: features_pb2.GetFeaturesRequest, context: Context
) -> features_pb2.GetFeaturesResponse:
    await asyncio.sleep(5)
    return features_pb2.GetFeaturesResponse()


def test_late_features_give_features_unavailable_within_the_deadline(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """A features server that answers after every deadline: ranking keeps part of its own
    deadline, so the front hears FEATURES_UNAVAILABLE (features' DEADLINE_EXCEEDED) and
    answers before the caller's 500 ms deadline, instead of blaming ranking."""
    elapsed: list[float] = []

    async def scenario(front: str) -> None:
        for _ in range(2):  # below the breaker's threshold: each call waits on features
            started = time.monotonic()
            response = await recommend(front, deadline_s=0.5)
            elapsed.append(time.monotonic() - started)
            assert_degraded(
                response,
                recommend_pb2.DEGRADED_REASON_FEATURES_UNAVAILABLE,
                "features unavailable",
                "DEADLINE_EXCEEDED",
            )

    run(etcd_server, serving_versions, tmp_path, scenario, features=_late_features)
    assert all(e < 0.5 for e in elapsed), elapsed
