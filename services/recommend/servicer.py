"""The Recommend RPC: validate, resolve the version once, run the flow, answer, record.

The flow's stages and the rule each fails open with (the popularity list or the
candidates in source order, a degraded reason and detail) are the table in
services/recommend/flow.py; admission control (the in-flight limit) is
services/recommend/admission.py. Every answer says which serving version produced it
and why it degraded, and becomes an impression record (impressions.py).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import grpc
import structlog
from opentelemetry import trace

from recmesh.api.candidates.v1 import candidates_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2_grpc
from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from recmesh.telemetry.metrics import ServerMetrics
from services.common.coalesced_downstream import NO_BATCHING, BatchingOptions
from services.common.downstream import Downstream, DownstreamPolicy
from services.common.versions import VersionRegistry
from services.recommend.admission import Admission
from services.recommend.answer import reason_label
from services.recommend.budget import BudgetPolicy
from services.recommend.flow import RecommendFlow
from services.recommend.front_bundle import FrontBundle
from services.recommend.impressions import ImpressionLog
from services.recommend.validation import validate_request

log = structlog.get_logger("recmesh.recommend")


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
        batching: BatchingOptions = NO_BATCHING,
        tracer: trace.Tracer | None = None,
        downstream_policy: DownstreamPolicy | None = None,
    ) -> None:
        self._versions = versions
        self._impressions = impressions
        self._metrics = metrics
        self._flow = RecommendFlow(
            candidates=candidates,
            ranking=ranking,
            admission=Admission(max_in_flight),
            policy=policy,
            max_candidates=max_candidates,
            batching=batching,
            tracer=tracer,
            downstream_policy=downstream_policy,
        )

    async def close(self) -> None:
        """Fails the downstream calls still queued for a batch (the server stops)."""
        await self._flow.close()

    async def Recommend(
        self, request: recommend_pb2.RecommendRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> recommend_pb2.RecommendResponse:
        validate_request(request)
        version = self._versions.current_or_raise()
        span = trace.get_current_span()
        trace_id = format(span.get_span_context().trace_id, "032x")
        request_id = uuid.uuid4().hex
        answer = await self._flow.answer(request, version, context.time_remaining())
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
        titles, external_ids = version.value.describe(answer.item_ids)
        items = [
            recommend_pb2.RecommendedItem(
                item_id=int(i), score=float(s), title=t, source=src, external_id=e
            )
            for i, s, t, src, e in zip(
                answer.item_ids.tolist(),
                answer.scores.tolist(),
                titles,
                answer.sources,
                external_ids,
                strict=True,
            )
        ]
        response = recommend_pb2.RecommendResponse(
            items=items,
            serving_version=version.version_id,
            degraded=answer.degraded,
            degraded_reason=answer.degraded_reason,
            degraded_detail=answer.degraded_detail,
            request_id=request_id,
            trace_id=trace_id,
        )
        self._impressions.record(request, response, time.time())
        return response
