"""The Recommend RPC: validate, resolve the version once, fan out, fail open.

The flow is candidates -> ranking (ranking fetches features itself, so the
feature matrix never passes through the front). Each stage declares how it
fails open:
  - candidates down or late: the popularity list of the resolved version;
  - ranking (or features behind it) down or late: candidates in source order;
  - too little of the caller's deadline left: the popularity list.
A malformed reply fails open like a failed call, with its own reason. Each
downstream is a `Downstream`: once its replicas are ejected after consecutive
failures, the stage fails open at once instead of waiting out its deadline.
Every answer says which serving version produced it and why it degraded.
"""

from __future__ import annotations

import time
import uuid
from functools import partial
from typing import Any

import grpc
import numpy as np
import structlog
from opentelemetry import trace

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from recmesh.telemetry.metrics import ServerMetrics
from recmesh.wire import rank_errors
from recmesh.wire.candidate_codec import WireCandidates
from services.common.downstream import Downstream
from services.common.downstream_errors import DownstreamCallError, DownstreamError, parsed
from services.common.versions import LoadedVersion, VersionRegistry
from services.recommend.answer import Answer, reason_label
from services.recommend.budget import BudgetPolicy, plan_budget
from services.recommend.candidates_reply import FoundCandidates, decode_found
from services.recommend.front_bundle import FrontBundle
from services.recommend.impressions import ImpressionLog
from services.recommend.ranked_reply import decode_ranked
from services.recommend.validation import validate_request

log = structlog.get_logger("recmesh.recommend")

POPULARITY_SOURCE = "popularity_fallback"


class RecommendServicer(recommend_pb2_grpc.RecommendServiceServicer):
    def __init__(
        self,
        *,
        versions: VersionRegistry[FrontBundle],
        candidates: Downstream[candidates_pb2_grpc.CandidatesServiceAsyncStub],
        ranking: Downstream[ranking_pb2_grpc.RankingServiceAsyncStub],
        impressions: ImpressionLog,
        metrics: ServerMetrics,
        policy: BudgetPolicy,
        max_candidates: int,
        max_in_flight: int,
    ) -> None:
        self._versions = versions
        self._candidates = candidates
        self._ranking = ranking
        self._impressions = impressions
        self._metrics = metrics
        self._policy = policy
        self._max_candidates = max_candidates
        self._max_in_flight = max_in_flight
        self._in_flight = 0

    async def Recommend(
        self, request: recommend_pb2.RecommendRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> recommend_pb2.RecommendResponse:
        validate_request(request)
        version = self._versions.current_or_raise()
        span = trace.get_current_span()
        trace_id = format(span.get_span_context().trace_id, "032x")
        request_id = uuid.uuid4().hex
        self._in_flight += 1
        try:
            if self._in_flight > self._max_in_flight:
                answer = _popularity(
                    version.value,
                    request.k,
                    recommend_pb2.DEGRADED_REASON_OVERLOADED,
                    f"{self._in_flight - 1} requests in flight (limit {self._max_in_flight})",
                )
            else:
                answer = await self._answer(request, version, context.time_remaining())
        finally:
            self._in_flight -= 1
        span.set_attribute("recmesh.serving_version", version.version_id)
        span.set_attribute("recmesh.items", int(answer.item_ids.shape[0]))
        if answer.degraded:
            label = reason_label(answer.degraded_reason)
            span.set_attribute("recmesh.degraded_reason", label)
            self._metrics.degraded.labels(self._metrics.component, label).inc()
            log.warning(
                "degraded_answer",
                reason=label,
                detail=answer.degraded_detail,
                serving_version=version.version_id,
            )
        titles = version.value.titles_of(answer.item_ids)
        items = [
            recommend_pb2.RecommendedItem(item_id=int(i), score=float(s), title=t, source=src)
            for i, s, t, src in zip(
                answer.item_ids.tolist(),
                answer.scores.tolist(),
                titles,
                answer.sources,
                strict=True,
            )
        ]
        self._impressions.record(
            {
                "request_id": request_id,
                "trace_id": trace_id,
                "at": time.time(),
                "user_id": request.user_id,
                "k": request.k,
                "context": dict(request.context),
                "items": [
                    {"item_id": it.item_id, "score": it.score, "source": it.source} for it in items
                ],
                "serving_version": version.version_id,
                "degraded": answer.degraded,
                "degraded_reason": reason_label(answer.degraded_reason) if answer.degraded else "",
            }
        )
        return recommend_pb2.RecommendResponse(
            items=items,
            serving_version=version.version_id,
            degraded=answer.degraded,
            degraded_reason=answer.degraded_reason,
            degraded_detail=answer.degraded_detail,
            request_id=request_id,
            trace_id=trace_id,
        )

    async def _answer(
        self,
        request: recommend_pb2.RecommendRequest,
        version: LoadedVersion[FrontBundle],
        time_remaining: float | None,
    ) -> Answer:
        started = time.perf_counter()
        budget = plan_budget(time_remaining, self._policy)
        bundle = version.value
        if not budget.usable:
            return _popularity(
                bundle,
                request.k,
                recommend_pb2.DEGRADED_REASON_DEADLINE_TOO_SHORT,
                f"{budget.total_s * 1000:.1f} ms left of the caller's deadline",
            )
        try:
            found = await self._candidates.call(
                partial(_get_candidates, request.user_id, version.version_id, self._max_candidates),
                budget.candidates_s,
            )
        except DownstreamError as exc:
            return _popularity(
                bundle,
                request.k,
                recommend_pb2.DEGRADED_REASON_CANDIDATES_UNAVAILABLE,
                f"candidates: {exc}",
            )
        candidates = found.decoded
        if bundle.is_baseline or len(candidates) == 0:
            return _source_order(candidates, request.k)
        remaining = budget.ranking_s(time.perf_counter() - started)
        if remaining < self._policy.min_hop_s:
            return _source_order(
                candidates,
                request.k,
                recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
                "no time left of the deadline for ranking",
            )
        try:
            return await self._ranking.call(
                partial(_rank, request.user_id, request.k, version.version_id, found), remaining
            )
        except DownstreamCallError as exc:
            reason = (
                recommend_pb2.DEGRADED_REASON_FEATURES_UNAVAILABLE
                if exc.has_reason(rank_errors.DOMAIN, rank_errors.FEATURES_UNAVAILABLE)
                else recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE
            )
            return _source_order(candidates, request.k, reason, f"ranking: {exc}")
        except DownstreamError as exc:
            return _source_order(
                candidates,
                request.k,
                recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
                f"ranking: {exc}",
            )


async def _get_candidates(
    user_id: str,
    serving_version: str,
    max_candidates: int,
    stub: candidates_pb2_grpc.CandidatesServiceAsyncStub,
    timeout: float,  # noqa: ASYNC109 - the gRPC deadline of the call
) -> FoundCandidates:
    response = await stub.GetCandidates(
        candidates_pb2.GetCandidatesRequest(
            user_id=user_id, max_candidates=max_candidates, serving_version=serving_version
        ),
        timeout=timeout,
    )
    return decode_found(
        parsed(response, candidates_pb2.GetCandidatesResponse), serving_version, max_candidates
    )


async def _rank(
    user_id: str,
    k: int,
    serving_version: str,
    found: FoundCandidates,
    stub: ranking_pb2_grpc.RankingServiceAsyncStub,
    timeout: float,  # noqa: ASYNC109 - the gRPC deadline of the call
) -> Answer:
    response = await stub.Rank(
        ranking_pb2.RankRequest(
            user_id=user_id, serving_version=serving_version, k=k, candidates=found.payload
        ),
        timeout=timeout,
    )
    return decode_ranked(
        parsed(response, ranking_pb2.RankResponse), serving_version, found.decoded, k
    )


def _source_order(
    candidates: WireCandidates,
    k: int,
    reason: recommend_pb2.DegradedReason.ValueType = recommend_pb2.DEGRADED_REASON_UNSPECIFIED,
    detail: str = "",
) -> Answer:
    top = slice(0, k)
    sources = tuple(candidates.sources[i] for i in candidates.source_indices[top].tolist())
    return Answer(
        np.array(candidates.item_ids[top]),
        np.array(candidates.source_scores[top]),
        sources,
        reason,
        detail,
    )


def _popularity(
    bundle: FrontBundle, k: int, reason: recommend_pb2.DegradedReason.ValueType, detail: str
) -> Answer:
    return Answer(
        bundle.popular_item_ids[:k],
        bundle.popular_scores[:k],
        (POPULARITY_SOURCE,) * min(k, bundle.popular_item_ids.shape[0]),
        reason,
        detail,
    )
