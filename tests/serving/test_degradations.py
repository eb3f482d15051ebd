"""Malformed and late downstream replies degrade the front's answer with their own
reason, never UNKNOWN: real front, candidates and ranking servers on port 0 (real etcd,
the XGBoost version), with one downstream replaced by a real gRPC server that answers
wrongly or late."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import grpc
import numpy as np
import pytest

from recmesh.arrays import encode_float32, encode_int64, encode_matrix
from recmesh.candidate_codec import decode_candidates, encode_candidates
from recmesh.candidates.v1 import candidates_pb2
from recmesh.common.v1 import arrays_pb2
from recmesh.etcd.local_server import LocalEtcd
from recmesh.features.v1 import features_pb2
from recmesh.ranking.v1 import ranking_pb2
from recmesh.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from services.recommend.answer import Reason
from tests.mesh_harness import write_pointer
from tests.serving.conftest import ServingVersions
from tests.serving.downstream_fakes import (
    CandidatesHandler,
    Context,
    FeaturesHandler,
    RankHandler,
    fake_candidates,
    fake_features,
    fake_ranking,
    fake_server,
    real_candidates,
    real_features,
    real_front,
    real_ranking,
    serving,
    wait_ready,
)

K = 10


@asynccontextmanager
async def front_over(
    etcd: LocalEtcd,
    versions: ServingVersions,
    tmp_path: Path,
    *,
    candidates: CandidatesHandler | None = None,
    ranking: RankHandler | None = None,
    features: FeaturesHandler | None = None,
) -> AsyncIterator[str]:
    """The real front over real candidates, ranking and features serving the XGBoost
    version, except for the one the test replaces with a handler; yields its address."""
    xgboost = versions.xgboost
    await write_pointer(etcd.endpoint, xgboost.version_id, xgboost.manifest_sha256)
    store = versions.store_dir
    async with AsyncExitStack() as stack:
        if candidates is None:
            handle = await real_candidates(etcd.endpoint, store)
            candidates_at = await stack.enter_async_context(serving(handle))
        else:
            candidates_at = await stack.enter_async_context(fake_candidates(candidates))
        if ranking is None:
            if features is None:
                features_at = await stack.enter_async_context(
                    serving(await real_features(etcd.endpoint, store))
                )
            else:
                features_at = await stack.enter_async_context(fake_features(features))
            ranking_at = await stack.enter_async_context(
                serving(await real_ranking(etcd.endpoint, store, features_at))
            )
        else:
            ranking_at = await stack.enter_async_context(fake_ranking(ranking))
        front = await stack.enter_async_context(
            serving(
                await real_front(
                    etcd.endpoint, store, candidates_at, ranking_at, tmp_path / "imp.jsonl"
                )
            )
        )
        await wait_ready(candidates_at, ranking_at, front)
        yield front


async def recommend(front: str, deadline_s: float = 2.0) -> recommend_pb2.RecommendResponse:
    async with grpc.aio.insecure_channel(front) as channel:
        return await recommend_pb2_grpc.RecommendServiceStub(channel).Recommend(
            recommend_pb2.RecommendRequest(user_id="196", k=K), timeout=deadline_s
        )


def run(
    etcd: LocalEtcd,
    versions: ServingVersions,
    tmp_path: Path,
    scenario: Callable[[str], Awaitable[None]],
    **fakes: CandidatesHandler | RankHandler | FeaturesHandler,
) -> None:
    async def main() -> None:
        async with front_over(etcd, versions, tmp_path, **fakes) as front:  # type: ignore[arg-type]
            await scenario(front)

    asyncio.run(main())


def assert_degraded(
    response: recommend_pb2.RecommendResponse, reason: Reason, *detail_parts: str
) -> None:
    assert response.degraded
    assert recommend_pb2.DegradedReason.Name(response.degraded_reason) == (
        recommend_pb2.DegradedReason.Name(reason)
    ), response.degraded_detail
    assert len(response.items) == K
    for part in detail_parts:
        assert part in response.degraded_detail


# --- ranking replies -------------------------------------------------------------------


def _top(request: ranking_pb2.RankRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    candidates = decode_candidates(request.candidates)
    positions = np.arange(min(request.k, len(candidates)), dtype=np.int64)
    scores = np.linspace(1.0, 0.0, positions.shape[0], dtype=np.float32)
    return candidates.item_ids[positions], scores, positions


def _reply(
    request: ranking_pb2.RankRequest,
    item_ids: np.ndarray,
    scores: np.ndarray,
    positions: np.ndarray,
) -> ranking_pb2.RankResponse:
    return ranking_pb2.RankResponse(
        serving_version=request.serving_version,
        item_ids=encode_int64(item_ids),
        scores=encode_float32(scores),
        candidate_positions=encode_int64(positions),
        scorer="xgboost",
    )


async def _short_scores(request: ranking_pb2.RankRequest, _: Context) -> ranking_pb2.RankResponse:
    ids, scores, positions = _top(request)
    return _reply(request, ids, scores[:-1], positions)


async def _undecodable_scores(
    request: ranking_pb2.RankRequest, _: Context
) -> ranking_pb2.RankResponse:
    reply = _reply(request, *_top(request))
    reply.scores.CopyFrom(arrays_pb2.Float32Array(data=b"\x00" * 7, length=K))
    return reply


async def _positions_out_of_range(
    request: ranking_pb2.RankRequest, _: Context
) -> ranking_pb2.RankResponse:
    ids, scores, positions = _top(request)
    return _reply(request, ids, scores, positions + 10_000)


async def _foreign_item_ids(
    request: ranking_pb2.RankRequest, _: Context
) -> ranking_pb2.RankResponse:
    ids, scores, positions = _top(request)
    return _reply(request, ids + 100_000, scores, positions)


async def _nan_score(request: ranking_pb2.RankRequest, _: Context) -> ranking_pb2.RankResponse:
    ids, scores, positions = _top(request)
    scores = scores.copy()
    scores[3] = np.nan
    return _reply(request, ids, scores, positions)


async def _too_few(request: ranking_pb2.RankRequest, _: Context) -> ranking_pb2.RankResponse:
    ids, scores, positions = _top(request)
    return _reply(request, ids[:3], scores[:3], positions[:3])


@pytest.mark.parametrize(
    ("handler", "detail"),
    [
        (_short_scores, "10 item ids, 9 scores and 10 candidate positions"),
        (_undecodable_scores, "rank.scores: 7 bytes do not hold 10 float32 values"),
        (_positions_out_of_range, "candidate positions outside"),
        (_foreign_item_ids, "not the candidates' at their positions"),
        (_nan_score, "NaN or infinite"),
        (_too_few, "sent 3 items, 10 expected"),
    ],
    ids=["wrong-length-scores", "undecodable-scores", "positions-out-of-range",
         "foreign-item-ids", "nan-score", "too-few-items"],
)  # fmt: skip
def test_malformed_ranking_reply_gives_ranking_unavailable(
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    tmp_path: Path,
    handler: RankHandler,
    detail: str,
) -> None:
    """A Rank reply that contradicts itself or the candidates (a score array of the wrong
    length, bytes that do not hold the declared values, positions out of range, item ids
    not at their positions, a NaN score, too few items) is answered in source order with
    RANKING_UNAVAILABLE and a detail naming the problem, not UNKNOWN."""

    async def scenario(front: str) -> None:
        assert_degraded(
            await recommend(front), recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE, detail
        )

    run(etcd_server, serving_versions, tmp_path, scenario, ranking=handler)


def test_ranking_reply_that_is_not_protobuf_gives_ranking_unavailable(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """Reply bytes that do not parse as a RankResponse (grpc.aio hands the caller None)
    degrade with RANKING_UNAVAILABLE naming the message type."""

    async def garbage(request: bytes, _: Context) -> bytes:
        return b"\xff\xff\xff\xff"

    async def main() -> None:
        handler = grpc.method_handlers_generic_handler(
            "recmesh.ranking.v1.RankingService",
            {"Rank": grpc.unary_unary_rpc_method_handler(garbage)},
        )
        xgboost = serving_versions.xgboost
        await write_pointer(etcd_server.endpoint, xgboost.version_id, xgboost.manifest_sha256)
        store = serving_versions.store_dir
        async with (
            fake_server(lambda s: s.add_generic_rpc_handlers((handler,))) as ranking_at,
            serving(await real_candidates(etcd_server.endpoint, store)) as candidates_at,
        ):
            front_handle = await real_front(
                etcd_server.endpoint, store, candidates_at, ranking_at, tmp_path / "i.jsonl"
            )
            async with serving(front_handle) as front:
                await wait_ready(candidates_at, front)
                assert_degraded(
                    await recommend(front),
                    recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
                    "does not parse as a recmesh.ranking.v1.RankResponse",
                )

    asyncio.run(main())


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
