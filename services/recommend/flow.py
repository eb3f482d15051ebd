"""The stages of a Recommend and how each fails open, as a table (`STAGES`).

The front runs the stages in order for the version it resolved once. Each stage
either lets the call go on or ends it with its own rule's answer: the version's
popularity list (in memory) or the candidates in source order, degraded with the
rule's reason and a detail filled in from what the stage saw. A stage that calls a
downstream fails open on any `DownstreamError` (down, late, ejected, or a malformed
reply) with `{error}` in its detail; an ErrorInfo reason in the failed status may
pick another degraded reason (ranking telling that features is unavailable). The
last stage, ranking, gives the answer when nothing failed. docs/serving.md
describes the same table.

A flow serves one arm (`CallArm`, services/common/call_arms.py) over downstream
clients of its own: the champion's flow (unmarked calls, batched under load), a
STAGED rollout's challenger flow and the shadow flow (calls marked with their arm,
never batched), so a failing challenger's errors count against its own breakers only.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeAlias

from opentelemetry import trace

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.wire import rank_errors
from services.common.call_arms import ARM_METADATA, CallArm, Metadata, is_shadow_shed
from services.common.coalesced_downstream import (
    NO_BATCHING,
    BatchingOptions,
    BatchRpc,
    CoalescedDownstream,
    batch_call,
)
from services.common.downstream import Downstream, DownstreamPolicy
from services.common.downstream_errors import DownstreamCallError, DownstreamError, parsed
from services.common.versions import LoadedVersion
from services.recommend.admission import Admission, Overload
from services.recommend.answer import (
    NOT_DEGRADED,
    Answer,
    Reason,
    popularity_answer,
    source_order_answer,
)
from services.recommend.budget import BudgetPolicy, HopBudget, plan_budget
from services.recommend.candidates_reply import FoundCandidates, decode_found
from services.recommend.front_bundle import FrontBundle
from services.recommend.ranked_reply import decode_ranked


class DownstreamShedShadowError(Exception):
    """A downstream refused a shadow flow's call because it was busy with answering calls
    (services/common/call_arms.py): the shadow is shed, not a challenger failure."""


class Fallback(enum.Enum):
    """What the front answers with when a stage ends the call."""

    POPULARITY = "the version's popularity list"
    SOURCE_ORDER = "the candidates in source order"


@dataclass(frozen=True)
class ErrorInfoReason:
    """A failed call whose status carries the ErrorInfo (domain, reason) degrades with
    `degraded_reason` instead of its stage's reason."""

    domain: str
    reason: str
    degraded_reason: Reason


@dataclass(frozen=True)
class Stage:
    """One stage of a Recommend and the rule it ends the call with.

    `calls` names the downstream service and RPC the stage calls, or what it checks
    when it calls none. When it ends the call (`ends_when`), the front answers with
    `answer`, degraded with `reason` (NOT_DEGRADED: a normal answer) and `detail`, a
    str.format template: `{error}` is a failed call's DownstreamError, other fields
    are what the stage's check saw."""

    name: str
    calls: str
    ends_when: str
    answer: Fallback
    reason: Reason
    detail: str
    error_reasons: tuple[ErrorInfoReason, ...] = ()

    def reason_for(self, error: DownstreamError) -> Reason:
        """The degraded reason of a failed call of this stage."""
        if isinstance(error, DownstreamCallError):
            for rule in self.error_reasons:
                if error.has_reason(rule.domain, rule.reason):
                    return rule.degraded_reason
        return self.reason


STAGES: tuple[Stage, ...] = (
    Stage(
        name="admission",
        calls="none: the count of Recommend calls in flight (services/recommend/admission.py)",
        ends_when="more calls are in flight than the limit (--max-in-flight)",
        answer=Fallback.POPULARITY,
        reason=recommend_pb2.DEGRADED_REASON_OVERLOADED,
        detail="{in_flight} requests in flight (limit {limit})",
    ),
    Stage(
        name="deadline",
        calls="none: the caller's deadline, split by plan_budget (services/recommend/budget.py)",
        ends_when="too little of the caller's deadline is left to fan out",
        answer=Fallback.POPULARITY,
        reason=recommend_pb2.DEGRADED_REASON_DEADLINE_TOO_SHORT,
        detail="{left_ms:.1f} ms left of the caller's deadline",
    ),
    Stage(
        name="candidates",
        calls="candidates: CandidatesService.GetCandidates",
        ends_when="the call fails, is late, finds every replica ejected or the reply is malformed",
        answer=Fallback.POPULARITY,
        reason=recommend_pb2.DEGRADED_REASON_CANDIDATES_UNAVAILABLE,
        detail="candidates: {error}",
    ),
    Stage(
        name="model",
        calls="none: the version's kind and the candidates found",
        ends_when="the version is the baseline (it has no model) or no candidate was found",
        answer=Fallback.SOURCE_ORDER,
        reason=NOT_DEGRADED,
        detail="",
    ),
    Stage(
        name="ranking time",
        calls="none: what is left of the deadline once candidates answered",
        ends_when="less than the minimum for a hop (BudgetPolicy.min_hop_s) is left",
        answer=Fallback.SOURCE_ORDER,
        reason=recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
        detail="no time left of the deadline for ranking",
    ),
    Stage(
        name="ranking",
        calls=(
            "ranking: RankingService.Rank "
            "(ranking calls features: FeaturesService.GetFeatures itself)"
        ),
        ends_when="the call fails, is late, finds every replica ejected or the reply is malformed",
        answer=Fallback.SOURCE_ORDER,
        reason=recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
        detail="ranking: {error}",
        error_reasons=(
            ErrorInfoReason(
                rank_errors.DOMAIN,
                rank_errors.FEATURES_UNAVAILABLE,
                recommend_pb2.DEGRADED_REASON_FEATURES_UNAVAILABLE,
            ),
        ),
    ),
)


class Ends:
    """A stage's check ends the call with the stage's rule; `facts` fill its detail."""

    def __init__(self, **facts: object) -> None:
        self.facts = facts


@dataclass
class _Call:
    """One Recommend as it goes through the stages."""

    request: recommend_pb2.RecommendRequest
    version: LoadedVersion[FrontBundle]
    overload: Overload | None
    budget: HopBudget
    started: float
    found: FoundCandidates | None = None
    ranking_s: float = 0.0


#: A stage's work: None to go on, Ends to end the call with the stage's rule, or the
#: answer. A DownstreamError it raises ends the call with the rule too.
_Step: TypeAlias = Callable[[_Call], Awaitable[Answer | Ends | None]]


class RecommendFlow:
    """Runs STAGES for one Recommend over the candidates and ranking downstreams.

    With `batching` enabled, the calls of concurrent Recommends to each downstream are
    coalesced into its batch RPC under load (services/common/coalesced_downstream.py);
    each fails open on its own exactly as a unary call would."""

    def __init__(
        self,
        *,
        candidates: Downstream[candidates_pb2_grpc.CandidatesServiceAsyncStub],
        ranking: Downstream[ranking_pb2_grpc.RankingServiceAsyncStub],
        admission: Admission,
        policy: BudgetPolicy,
        max_candidates: int,
        clock: Callable[[], float] = time.perf_counter,
        batching: BatchingOptions = NO_BATCHING,
        tracer: trace.Tracer | None = None,
        downstream_policy: DownstreamPolicy | None = None,
        arm: CallArm = CallArm.CHAMPION,
    ) -> None:
        """`arm`: whose calls the flow makes. A CHALLENGER or SHADOW flow marks its
        downstream calls with its arm and never batches them; in the SHADOW flow a call
        a downstream shed on purpose ends the flow with DownstreamShedShadowError
        instead of a degraded answer."""
        if arm is not CallArm.CHAMPION and batching.enabled:
            raise ValueError(f"the {arm.value} flow never batches its downstream calls")
        self._shadow = arm is CallArm.SHADOW
        candidates_rpc, rank_rpc = _rpcs_of(arm)
        self._candidates: CoalescedDownstream[
            candidates_pb2_grpc.CandidatesServiceAsyncStub,
            candidates_pb2.GetCandidatesRequest,
            candidates_pb2.GetCandidatesResponse,
            FoundCandidates,
        ] = CoalescedDownstream(candidates, candidates_rpc, batching, tracer, downstream_policy)
        self._ranking: CoalescedDownstream[
            ranking_pb2_grpc.RankingServiceAsyncStub,
            ranking_pb2.RankRequest,
            ranking_pb2.RankResponse,
            Answer,
        ] = CoalescedDownstream(ranking, rank_rpc, batching, tracer, downstream_policy)
        self._admission = admission
        self._policy = policy
        self._max_candidates = max_candidates
        self._clock = clock
        steps: dict[str, _Step] = {
            "admission": self._admit,
            "deadline": self._check_deadline,
            "candidates": self._find_candidates,
            "model": self._check_model,
            "ranking time": self._check_ranking_time,
            "ranking": self._rank,
        }
        if set(steps) != {stage.name for stage in STAGES}:
            raise AssertionError("every stage of STAGES needs its step, and only those")
        self._stages = tuple((stage, steps[stage.name]) for stage in STAGES)

    async def close(self) -> None:
        """Fails the calls still queued for a batch (the server is stopping)."""
        await self._candidates.close()
        await self._ranking.close()

    async def answer(
        self,
        request: recommend_pb2.RecommendRequest,
        version: LoadedVersion[FrontBundle],
        time_remaining_s: float | None,
    ) -> Answer:
        """The answer to a validated request for the resolved version, given what is
        left of the caller's deadline (None: no deadline)."""
        async with self._admission.slot() as overload:
            call = _Call(
                request,
                version,
                overload,
                started=self._clock(),
                budget=plan_budget(time_remaining_s, self._policy),
            )
            for stage, step in self._stages:
                try:
                    outcome = await step(call)
                except DownstreamError as error:
                    if self._shadow and is_shadow_shed(error):
                        raise DownstreamShedShadowError(f"{stage.name}: {error}") from error
                    return _fail_open(stage, call, stage.reason_for(error), {"error": error})
                if isinstance(outcome, Answer):
                    return outcome
                if outcome is not None:
                    return _fail_open(stage, call, stage.reason, outcome.facts)
        raise AssertionError("the last stage answers or ends the call")

    async def _admit(self, call: _Call) -> Ends | None:
        if call.overload is None:
            return None
        return Ends(in_flight=call.overload.in_flight, limit=call.overload.limit)

    async def _check_deadline(self, call: _Call) -> Ends | None:
        return None if call.budget.usable else Ends(left_ms=call.budget.total_s * 1000)

    async def _find_candidates(self, call: _Call) -> None:
        version_id = call.version.version_id
        call.found = await self._candidates.call(
            candidates_pb2.GetCandidatesRequest(
                user_id=call.request.user_id,
                max_candidates=self._max_candidates,
                serving_version=version_id,
            ),
            partial(_decode_candidates, version_id, self._max_candidates),
            call.budget.candidates_s,
        )

    async def _check_model(self, call: _Call) -> Ends | None:
        found = _found(call)
        return Ends() if call.version.value.is_baseline or len(found.decoded) == 0 else None

    async def _check_ranking_time(self, call: _Call) -> Ends | None:
        call.ranking_s = call.budget.ranking_s(self._clock() - call.started)
        return Ends() if call.ranking_s < self._policy.min_hop_s else None

    async def _rank(self, call: _Call) -> Answer:
        request = call.request
        version_id = call.version.version_id
        found = _found(call)
        return await self._ranking.call(
            ranking_pb2.RankRequest(
                user_id=request.user_id,
                serving_version=version_id,
                k=request.k,
                candidates=found.payload,
            ),
            partial(_decode_rank, version_id, found, request.k),
            call.ranking_s,
        )


def _found(call: _Call) -> FoundCandidates:
    if call.found is None:
        raise AssertionError("a stage after candidates ran before it")
    return call.found


def _fail_open(stage: Stage, call: _Call, reason: Reason, facts: dict[str, object]) -> Answer:
    detail = stage.detail.format(**facts)
    k = call.request.k
    if stage.answer is Fallback.POPULARITY:
        return popularity_answer(call.version.value, k, reason, detail)
    return source_order_answer(_found(call).decoded, k, reason, detail)


def _decode_candidates(
    serving_version: str,
    max_candidates: int,
    response: candidates_pb2.GetCandidatesResponse | None,
) -> FoundCandidates:
    return decode_found(
        parsed(response, candidates_pb2.GetCandidatesResponse), serving_version, max_candidates
    )


def _decode_rank(
    serving_version: str, found: FoundCandidates, k: int, response: ranking_pb2.RankResponse | None
) -> Answer:
    return decode_ranked(
        parsed(response, ranking_pb2.RankResponse), serving_version, found.decoded, k
    )


async def _get_candidates(
    stub: candidates_pb2_grpc.CandidatesServiceAsyncStub,
    request: candidates_pb2.GetCandidatesRequest,
    timeout: float,  # noqa: ASYNC109 - the gRPC deadline of the call
) -> candidates_pb2.GetCandidatesResponse | None:
    return await stub.GetCandidates(request, timeout=timeout)


async def _rank_unary(
    stub: ranking_pb2_grpc.RankingServiceAsyncStub,
    request: ranking_pb2.RankRequest,
    timeout: float,  # noqa: ASYNC109 - the gRPC deadline of the call
) -> ranking_pb2.RankResponse | None:
    return await stub.Rank(request, timeout=timeout)


async def _get_candidates_marked(
    metadata: Metadata,
    stub: candidates_pb2_grpc.CandidatesServiceAsyncStub,
    request: candidates_pb2.GetCandidatesRequest,
    timeout: float,  # noqa: ASYNC109 - the gRPC deadline of the call
) -> candidates_pb2.GetCandidatesResponse | None:
    return await stub.GetCandidates(request, timeout=timeout, metadata=metadata)


async def _rank_marked(
    metadata: Metadata,
    stub: ranking_pb2_grpc.RankingServiceAsyncStub,
    request: ranking_pb2.RankRequest,
    timeout: float,  # noqa: ASYNC109 - the gRPC deadline of the call
) -> ranking_pb2.RankResponse | None:
    return await stub.Rank(request, timeout=timeout, metadata=metadata)


CANDIDATES_RPC: BatchRpc[
    candidates_pb2_grpc.CandidatesServiceAsyncStub,
    candidates_pb2.GetCandidatesRequest,
    candidates_pb2.GetCandidatesResponse,
] = BatchRpc(
    "GetCandidates",
    _get_candidates,
    batch_call(
        "GetCandidatesBatch",
        candidates_pb2.GetCandidatesBatchRequest,
        candidates_pb2.GetCandidatesBatchItem,
        candidates_pb2.GetCandidatesBatchResponse,
    ),
)
RANK_RPC: BatchRpc[
    ranking_pb2_grpc.RankingServiceAsyncStub, ranking_pb2.RankRequest, ranking_pb2.RankResponse
] = BatchRpc(
    "Rank",
    _rank_unary,
    batch_call(
        "RankBatch",
        ranking_pb2.RankBatchRequest,
        ranking_pb2.RankBatchItem,
        ranking_pb2.RankBatchResponse,
    ),
)


def _rpcs_of(
    arm: CallArm,
) -> tuple[
    BatchRpc[
        candidates_pb2_grpc.CandidatesServiceAsyncStub,
        candidates_pb2.GetCandidatesRequest,
        candidates_pb2.GetCandidatesResponse,
    ],
    BatchRpc[
        ranking_pb2_grpc.RankingServiceAsyncStub, ranking_pb2.RankRequest, ranking_pb2.RankResponse
    ],
]:
    """The calls of `arm`'s flow. The champion's are unmarked; a challenger's or a
    shadow's are unary only (those flows never batch) and marked with the arm, so
    ranking scores them off its loop and sheds a shadow when busy
    (services/common/call_arms.py)."""
    if arm is CallArm.CHAMPION:
        return CANDIDATES_RPC, RANK_RPC
    metadata = ARM_METADATA[arm]
    return (
        replace(CANDIDATES_RPC, unary=partial(_get_candidates_marked, metadata)),
        replace(RANK_RPC, unary=partial(_rank_marked, metadata)),
    )
