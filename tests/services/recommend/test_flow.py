"""The Recommend flow's stages and fail-open rules (services/recommend/flow.py), every
way each stage ends the call: real `Downstream` objects around fake async stubs (no
server, no network), a front bundle made in memory and an injected clock for the
flow's own time keeping.

Every test checks the answer's kind (ranked, popularity list, candidates in source
order), its degraded reason and its detail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import grpc
import numpy as np

from recmesh.api.candidates.v1 import candidates_pb2
from recmesh.api.ranking.v1 import ranking_pb2
from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.bundle.manifest import KIND_BASELINE, KIND_XGBOOST, BlobRef, BundleManifest
from recmesh.rpc.error_info import status_trailer
from recmesh.telemetry.metrics import ServerMetrics
from recmesh.wire.arrays import encode_float32, encode_int64
from recmesh.wire.candidate_codec import encode_candidates
from recmesh.wire.rank_errors import features_unavailable
from services.common.downstream import Downstream
from services.common.version_load import LoadedVersion
from services.recommend.admission import Admission
from services.recommend.answer import NOT_DEGRADED, POPULARITY_SOURCE, Answer, Reason
from services.recommend.budget import BudgetPolicy
from services.recommend.flow import STAGES, Fallback, RecommendFlow
from services.recommend.front_bundle import FrontBundle

K = 10
VERSION_ID = "sv-0123456789abcdef"
POLICY = BudgetPolicy()
MAX_CANDIDATES = 500
# The caller's deadline in most tests: 80 ms for the hops once the reserve is kept,
# 32 ms of it for candidates.
DEADLINE_S = 0.1

POPULAR_IDS = np.arange(1000, 1020, dtype=np.int64)
POPULAR_SCORES = np.linspace(50.0, 10.0, 20).astype(np.float32)
CANDIDATE_IDS = np.arange(1, 31, dtype=np.int64)
CANDIDATE_SOURCES = ("collaborative", "popular")
CANDIDATE_SOURCE_INDICES = (np.arange(30) % 2).astype(np.uint8)
CANDIDATE_SCORES = np.linspace(3.0, 0.1, 30).astype(np.float32)
CANDIDATES = encode_candidates(
    CANDIDATE_IDS, CANDIDATE_SOURCE_INDICES, CANDIDATE_SCORES, CANDIDATE_SOURCES
)
# What ranking answers: the first K candidates, last first.
RANKED_POSITIONS = np.arange(K, dtype=np.int64)[::-1].copy()
RANKED_SCORES = np.linspace(0.9, 0.1, K).astype(np.float32)


def front_bundle(kind: str) -> FrontBundle:
    blob = BlobRef("0" * 64, 1)
    manifest = BundleManifest(
        kind=kind,
        snapshot=blob,
        model=None if kind == KIND_BASELINE else blob,
        feature_names=("f",),
        feature_schema_fingerprint="fp",
        dataset_name="test",
        dataset_fingerprint="fp",
    )
    return FrontBundle(
        manifest=manifest,
        item_ids=np.sort(np.concatenate([CANDIDATE_IDS, POPULAR_IDS])),
        titles=tuple(f"title {i}" for i in range(50)),
        popular_item_ids=POPULAR_IDS,
        popular_scores=POPULAR_SCORES,
    )


XGBOOST = LoadedVersion(VERSION_ID, "sha", front_bundle(KIND_XGBOOST))
BASELINE = LoadedVersion(VERSION_ID, "sha", front_bundle(KIND_BASELINE))


def aio_error(
    code: grpc.StatusCode, details: str, trailer: tuple[tuple[str, bytes], ...] = ()
) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailer), details, None
    )


class Clock:
    """The flow's clock: moves only when a fake stub says time passed."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


CandidatesReply: TypeAlias = Callable[
    [candidates_pb2.GetCandidatesRequest, float],
    Awaitable["candidates_pb2.GetCandidatesResponse | None"],
]
RankReply: TypeAlias = Callable[
    [ranking_pb2.RankRequest, float], Awaitable["ranking_pb2.RankResponse | None"]
]


@dataclass
class CandidatesStub:
    """Stands in for CandidatesServiceAsyncStub; records each call's request and timeout."""

    reply: CandidatesReply
    calls: list[tuple[candidates_pb2.GetCandidatesRequest, float]] = field(default_factory=list)

    async def GetCandidates(
        self,
        request: candidates_pb2.GetCandidatesRequest,
        timeout: float,  # noqa: ASYNC109 - the stub's signature
    ) -> candidates_pb2.GetCandidatesResponse | None:
        self.calls.append((request, timeout))
        return await self.reply(request, timeout)


@dataclass
class RankingStub:
    """Stands in for RankingServiceAsyncStub; records each call's request and timeout."""

    reply: RankReply
    calls: list[tuple[ranking_pb2.RankRequest, float]] = field(default_factory=list)

    async def Rank(
        self,
        request: ranking_pb2.RankRequest,
        timeout: float,  # noqa: ASYNC109 - the stub's signature
    ) -> ranking_pb2.RankResponse | None:
        self.calls.append((request, timeout))
        return await self.reply(request, timeout)


# What the fakes answer.


async def candidates_found(
    request: candidates_pb2.GetCandidatesRequest, granted_s: float
) -> candidates_pb2.GetCandidatesResponse:
    return candidates_pb2.GetCandidatesResponse(
        serving_version=request.serving_version, candidates=CANDIDATES
    )


async def none_found(
    request: candidates_pb2.GetCandidatesRequest, granted_s: float
) -> candidates_pb2.GetCandidatesResponse:
    empty = encode_candidates(
        np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.float32), ()
    )
    return candidates_pb2.GetCandidatesResponse(
        serving_version=request.serving_version, candidates=empty
    )


async def ranked(request: ranking_pb2.RankRequest, granted_s: float) -> ranking_pb2.RankResponse:
    return ranking_pb2.RankResponse(
        serving_version=request.serving_version,
        item_ids=encode_int64(CANDIDATE_IDS[RANKED_POSITIONS]),
        scores=encode_float32(RANKED_SCORES),
        candidate_positions=encode_int64(RANKED_POSITIONS),
    )


async def down(request: object, granted_s: float) -> None:
    raise aio_error(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses")


async def late(request: object, granted_s: float) -> None:
    """What a stub does with a server that does not answer in time."""
    await asyncio.sleep(granted_s)
    raise aio_error(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")


async def unparseable(request: object, granted_s: float) -> None:
    """grpc.aio hands the caller None when the reply's bytes do not parse."""
    return None


async def candidates_of_another_version(
    request: candidates_pb2.GetCandidatesRequest, granted_s: float
) -> candidates_pb2.GetCandidatesResponse:
    return candidates_pb2.GetCandidatesResponse(serving_version="sv-other", candidates=CANDIDATES)


async def too_many_candidates(
    request: candidates_pb2.GetCandidatesRequest, granted_s: float
) -> candidates_pb2.GetCandidatesResponse:
    many = np.arange(1, MAX_CANDIDATES + 2, dtype=np.int64)
    payload = encode_candidates(
        many, np.zeros(many.shape[0], np.uint8), np.ones(many.shape[0], np.float32), ("a",)
    )
    return candidates_pb2.GetCandidatesResponse(
        serving_version=request.serving_version, candidates=payload
    )


async def ranked_short_of_scores(
    request: ranking_pb2.RankRequest, granted_s: float
) -> ranking_pb2.RankResponse:
    reply = await ranked(request, granted_s)
    reply.scores.CopyFrom(encode_float32(RANKED_SCORES[:-1]))
    return reply


async def features_down(request: ranking_pb2.RankRequest, granted_s: float) -> None:
    message = "features: UNAVAILABLE: failed to connect to all addresses"
    raise aio_error(
        grpc.StatusCode.UNAVAILABLE,
        message,
        status_trailer(grpc.StatusCode.UNAVAILABLE, message, features_unavailable()),
    )


async def refused_on_purpose(request: ranking_pb2.RankRequest, granted_s: float) -> None:
    """A failure with no features reason: ranking's own refusal."""
    raise aio_error(grpc.StatusCode.FAILED_PRECONDITION, "version sv-x is not loaded")


def not_called(request: object, granted_s: float) -> Awaitable[None]:
    raise AssertionError("this stage must not call its downstream")


# The flow under test.


@dataclass
class Front:
    flow: RecommendFlow
    candidates: CandidatesStub
    ranking: RankingStub
    admission: Admission
    clock: Clock

    async def answer(
        self,
        version: LoadedVersion[FrontBundle] = XGBOOST,
        time_remaining_s: float | None = DEADLINE_S,
    ) -> Answer:
        request = recommend_pb2.RecommendRequest(user_id="196", k=K)
        return await self.flow.answer(request, version, time_remaining_s)


def downstream(service: str, stub: Any) -> Downstream[Any]:
    """A real Downstream with one replica whose stub is the fake (its channel is never
    used: the breakers' clock stands still, so no health probe is ever due)."""

    def connect(address: str) -> tuple[grpc.aio.Channel, Any]:
        return grpc.aio.insecure_channel(address), stub

    return Downstream(
        service, ["127.0.0.1:1"], connect, ServerMetrics("recommend"), clock=lambda: 0
    )


@asynccontextmanager
async def front(
    candidates: CandidatesReply = candidates_found,
    ranking: RankReply = ranked,
    max_in_flight: int = 32,
) -> AsyncIterator[Front]:
    candidates_stub = CandidatesStub(candidates)
    ranking_stub = RankingStub(ranking)
    candidates_at = downstream("candidates", candidates_stub)
    ranking_at = downstream("ranking", ranking_stub)
    admission = Admission(max_in_flight)
    clock = Clock()
    flow = RecommendFlow(
        candidates=candidates_at,
        ranking=ranking_at,
        admission=admission,
        policy=POLICY,
        max_candidates=MAX_CANDIDATES,
        clock=clock,
    )
    try:
        yield Front(flow, candidates_stub, ranking_stub, admission, clock)
    finally:
        await candidates_at.close()
        await ranking_at.close()


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def assert_popularity(answer: Answer, reason: Reason, detail: str) -> None:
    assert answer.item_ids.tolist() == POPULAR_IDS[:K].tolist()
    assert answer.scores.tolist() == POPULAR_SCORES[:K].tolist()
    assert answer.sources == (POPULARITY_SOURCE,) * K
    assert_reason(answer, reason, detail)


def assert_source_order(answer: Answer, reason: Reason, detail: str) -> None:
    assert answer.item_ids.tolist() == CANDIDATE_IDS[:K].tolist()
    assert answer.scores.tolist() == CANDIDATE_SCORES[:K].tolist()
    assert answer.sources == tuple(
        CANDIDATE_SOURCES[i] for i in CANDIDATE_SOURCE_INDICES[:K].tolist()
    )
    assert_reason(answer, reason, detail)


def assert_reason(answer: Answer, reason: Reason, detail: str) -> None:
    assert recommend_pb2.DegradedReason.Name(answer.degraded_reason) == (
        recommend_pb2.DegradedReason.Name(reason)
    ), answer.degraded_detail
    assert answer.degraded_detail == detail
    assert answer.degraded == (reason != NOT_DEGRADED)


# The table.


def test_the_table_reads_in_the_order_the_stages_run() -> None:
    """Admission, deadline, candidates, the model check, ranking's time, ranking: and
    no stage answers in source order before candidates found them."""
    names = [stage.name for stage in STAGES]
    assert names == ["admission", "deadline", "candidates", "model", "ranking time", "ranking"]
    candidates_at = names.index("candidates")
    for position, stage in enumerate(STAGES):
        if stage.answer is Fallback.SOURCE_ORDER:
            assert position > candidates_at, stage.name


# Nothing fails.


def test_a_ranked_answer_with_the_deadline_split_between_the_hops() -> None:
    """Candidates get 40% of what is left after the reserve, ranking the rest once
    candidates answered; both are asked for the resolved version."""

    async def scenario() -> None:
        async with front() as f:
            answer = await f.answer(time_remaining_s=0.5)
            assert answer.item_ids.tolist() == CANDIDATE_IDS[RANKED_POSITIONS].tolist()
            assert answer.sources == tuple(
                CANDIDATE_SOURCES[i] for i in CANDIDATE_SOURCE_INDICES[RANKED_POSITIONS]
            )
            assert_reason(answer, NOT_DEGRADED, "")
            [(asked, candidates_s)] = f.candidates.calls
            assert (asked.user_id, asked.serving_version) == ("196", VERSION_ID)
            assert asked.max_candidates == MAX_CANDIDATES
            assert abs(candidates_s - 0.4 * 0.4) < 1e-3
            [(rank, ranking_s)] = f.ranking.calls
            assert (rank.user_id, rank.k, rank.serving_version) == ("196", K, VERSION_ID)
            assert rank.candidates == CANDIDATES
            assert abs(ranking_s - 0.4) < 1e-3
            assert f.admission.in_flight == 0

    run(scenario)


# Admission.


def test_overloaded_answers_the_popularity_list_without_calling_anyone() -> None:
    async def scenario() -> None:
        async with front(candidates=not_called, ranking=not_called, max_in_flight=2) as f:
            async with f.admission.slot(), f.admission.slot():
                answer = await f.answer()
            assert_popularity(
                answer,
                recommend_pb2.DEGRADED_REASON_OVERLOADED,
                "2 requests in flight (limit 2)",
            )
            assert f.admission.in_flight == 0

    run(scenario)


# Deadline.


def test_a_deadline_too_short_answers_the_popularity_list_without_calling_anyone() -> None:
    """3 ms from the caller: 2 ms are the answer's reserve, 1 ms is too little to fan out."""

    async def scenario() -> None:
        async with front(candidates=not_called, ranking=not_called) as f:
            assert_popularity(
                await f.answer(time_remaining_s=0.003),
                recommend_pb2.DEGRADED_REASON_DEADLINE_TOO_SHORT,
                "1.0 ms left of the caller's deadline",
            )

    run(scenario)


# Candidates.


def test_candidates_down_answers_the_popularity_list() -> None:
    async def scenario() -> None:
        async with front(candidates=down, ranking=not_called) as f:
            assert_popularity(
                await f.answer(),
                recommend_pb2.DEGRADED_REASON_CANDIDATES_UNAVAILABLE,
                "candidates: UNAVAILABLE: failed to connect to all addresses",
            )

    run(scenario)


def test_candidates_late_answers_the_popularity_list_within_its_share() -> None:
    async def scenario() -> None:
        async with front(candidates=late, ranking=not_called) as f:
            assert_popularity(
                await f.answer(),
                recommend_pb2.DEGRADED_REASON_CANDIDATES_UNAVAILABLE,
                "candidates: DEADLINE_EXCEEDED: Deadline Exceeded",
            )
            [(_, candidates_s)] = f.candidates.calls
            assert candidates_s <= 0.4 * 0.08 + 1e-6

    run(scenario)


def test_candidates_ejected_answers_the_popularity_list_without_calling() -> None:
    """After three failures the only replica is ejected: the fourth call is not made."""

    async def scenario() -> None:
        async with front(candidates=down, ranking=not_called) as f:
            for _ in range(3):
                await f.answer()
            assert_popularity(
                await f.answer(),
                recommend_pb2.DEGRADED_REASON_CANDIDATES_UNAVAILABLE,
                "candidates: every candidates replica is ejected after consecutive failures",
            )
            assert len(f.candidates.calls) == 3

    run(scenario)


def test_malformed_candidates_answer_the_popularity_list() -> None:
    cases: list[tuple[CandidatesReply, str]] = [
        (
            candidates_of_another_version,
            f"candidates: candidates answered for version 'sv-other', not '{VERSION_ID}'",
        ),
        (
            too_many_candidates,
            f"candidates: {MAX_CANDIDATES + 1} candidates sent, at most {MAX_CANDIDATES} asked for",
        ),
        (
            unparseable,
            "candidates: the reply does not parse as a recmesh.candidates.v1.GetCandidatesResponse",
        ),
    ]

    async def scenario() -> None:
        for reply, detail in cases:
            async with front(candidates=reply, ranking=not_called) as f:
                assert_popularity(
                    await f.answer(),
                    recommend_pb2.DEGRADED_REASON_CANDIDATES_UNAVAILABLE,
                    detail,
                )

    run(scenario)


# The model check: no ranking needed.


def test_the_baseline_answers_candidates_in_source_order_not_degraded() -> None:
    async def scenario() -> None:
        async with front(ranking=not_called) as f:
            assert_source_order(await f.answer(BASELINE), NOT_DEGRADED, "")

    run(scenario)


def test_no_candidates_is_an_empty_answer_not_degraded() -> None:
    async def scenario() -> None:
        async with front(candidates=none_found, ranking=not_called) as f:
            answer = await f.answer()
            assert answer.item_ids.tolist() == []
            assert answer.sources == ()
            assert_reason(answer, NOT_DEGRADED, "")

    run(scenario)


# Ranking's time.


def test_no_time_left_for_ranking_answers_candidates_in_source_order() -> None:
    """Candidates answered with less than min_hop_s of the 400 ms left."""

    async def scenario() -> None:
        async with front(ranking=not_called) as f:

            async def slow_candidates(
                request: candidates_pb2.GetCandidatesRequest, granted_s: float
            ) -> candidates_pb2.GetCandidatesResponse:
                f.clock.now += 0.4 - POLICY.min_hop_s / 2
                return await candidates_found(request, granted_s)

            f.candidates.reply = slow_candidates
            assert_source_order(
                await f.answer(time_remaining_s=0.5),
                recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
                "no time left of the deadline for ranking",
            )

    run(scenario)


# Ranking.


def test_ranking_down_answers_candidates_in_source_order() -> None:
    async def scenario() -> None:
        async with front(ranking=down) as f:
            assert_source_order(
                await f.answer(),
                recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
                "ranking: UNAVAILABLE: failed to connect to all addresses",
            )

    run(scenario)


def test_ranking_late_answers_candidates_in_source_order() -> None:
    async def scenario() -> None:
        async with front(ranking=late) as f:
            assert_source_order(
                await f.answer(),
                recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
                "ranking: DEADLINE_EXCEEDED: Deadline Exceeded",
            )

    run(scenario)


def test_ranking_ejected_answers_candidates_in_source_order_without_calling() -> None:
    async def scenario() -> None:
        async with front(ranking=down) as f:
            for _ in range(3):
                await f.answer()
            assert_source_order(
                await f.answer(),
                recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
                "ranking: every ranking replica is ejected after consecutive failures",
            )
            assert len(f.ranking.calls) == 3

    run(scenario)


def test_ranking_refusing_without_a_features_reason_is_ranking_unavailable() -> None:
    async def scenario() -> None:
        async with front(ranking=refused_on_purpose) as f:
            assert_source_order(
                await f.answer(),
                recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
                "ranking: FAILED_PRECONDITION: version sv-x is not loaded",
            )

    run(scenario)


def test_malformed_ranking_answers_candidates_in_source_order() -> None:
    cases: list[tuple[RankReply, str]] = [
        (
            ranked_short_of_scores,
            f"ranking: ranking sent {K} item ids, {K - 1} scores and {K} candidate positions",
        ),
        (unparseable, "ranking: the reply does not parse as a recmesh.ranking.v1.RankResponse"),
    ]

    async def scenario() -> None:
        for reply, detail in cases:
            async with front(ranking=reply) as f:
                assert_source_order(
                    await f.answer(), recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE, detail
                )

    run(scenario)


def test_features_unavailable_behind_ranking_is_its_own_reason() -> None:
    """Ranking's UNAVAILABLE with the features ErrorInfo: the reason, not the message,
    makes it FEATURES_UNAVAILABLE; the answer is still candidates in source order."""

    async def scenario() -> None:
        async with front(ranking=features_down) as f:
            assert_source_order(
                await f.answer(),
                recommend_pb2.DEGRADED_REASON_FEATURES_UNAVAILABLE,
                "ranking: UNAVAILABLE: features: UNAVAILABLE: failed to connect to all addresses",
            )

    run(scenario)
