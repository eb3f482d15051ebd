"""Malformed ranking replies degrade the front's answer with RANKING_UNAVAILABLE and a
detail naming the problem, never UNKNOWN: real front and candidates on port 0 (real
etcd, the XGBoost version), with ranking replaced by a real gRPC server that answers
wrongly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import numpy as np
import pytest

from recmesh.api.common.v1 import arrays_pb2
from recmesh.api.ranking.v1 import ranking_pb2
from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.etcd.local_server import LocalEtcd
from recmesh.wire.arrays import encode_float32, encode_int64
from recmesh.wire.candidate_codec import decode_candidates
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import write_pointer
from tests.services.degraded_front import K, assert_degraded, recommend, run
from tests.services.downstream_fakes import (
    Context,
    RankHandler,
    fake_server,
    real_candidates,
    real_front,
    serving,
    wait_ready,
)

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


async def _not_best_first(request: ranking_pb2.RankRequest, _: Context) -> ranking_pb2.RankResponse:
    ids, scores, positions = _top(request)
    return _reply(request, ids, scores[::-1].copy(), positions)


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
        (_not_best_first, "scores that are not best first"),
    ],
    ids=["wrong-length-scores", "undecodable-scores", "positions-out-of-range",
         "foreign-item-ids", "nan-score", "too-few-items", "not-best-first"],
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
    not at their positions, a NaN score, too few items, scores that rise) is answered in
    source order with RANKING_UNAVAILABLE and a detail naming the problem, not UNKNOWN."""

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
        await write_pointer(etcd_server, xgboost.version_id, xgboost.manifest_sha256)
        store = serving_versions.store_dir
        async with (
            fake_server(lambda s: s.add_generic_rpc_handlers((handler,))) as ranking_at,
            serving(await real_candidates(etcd_server, store)) as candidates_at,
        ):
            front_handle = await real_front(
                etcd_server, store, candidates_at, ranking_at, tmp_path / "i.jsonl"
            )
            async with serving(front_handle) as front:
                await wait_ready(candidates_at, front)
                assert_degraded(
                    await recommend(front),
                    recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
                    "does not parse as a recmesh.ranking.v1.RankResponse",
                )

    asyncio.run(main())
