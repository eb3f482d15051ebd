"""The Recommend RPC: validate, resolve the version once, run the flow, answer, record.

The flow's stages and the rule each fails open with (the popularity list or the
candidates in source order, a degraded reason and detail) are the table in
services/recommend/flow.py; admission control (the in-flight limit) is
services/recommend/admission.py. Every answer says which serving version produced it
and why it degraded, and becomes an impression record (impressions.py).

When the pointer record names a rollout (services/recommend/arms.py), a STAGED
rollout's users of the stage share are answered by the challenger: the answer, its
span and its impression say which arm answered, and the arm's counts
(arm_counter.py) go to etcd. The challenger arm runs the same stages through a flow
of its own (`challenger_flow`: downstream clients `candidates-challenger` and
`ranking-challenger` with their own breakers, never batched, its calls marked
challenger calls so ranking scores them off its event loop;
services/common/call_arms.py). So a failing challenger opens only its own breakers
and degrades only its own answers, and a slow one never holds up the champion's Ranks:
the guardrails comparing the arms see each arm as it is. Both flows share the front's
admission limit. In a SHADOW rollout the champion answers and, for the
shadow share, the challenger ranks the same request once the call is over
(shadow.py), unless that work is shed.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import grpc
import structlog
from opentelemetry import trace

from recmesh.api.candidates.v1 import candidates_pb2_grpc
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.api.ranking.v1 import ranking_pb2_grpc
from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from recmesh.rollout.arm_counts import CHALLENGER, CHAMPION
from recmesh.telemetry.metrics import ServerMetrics
from services.common.coalesced_downstream import NO_BATCHING, BatchingOptions
from services.common.downstream import Downstream, DownstreamPolicy
from services.common.versions import LoadedVersion
from services.recommend.admission import Admission
from services.recommend.answer import Answer, reason_label
from services.recommend.arm_counter import ArmCounter
from services.recommend.arms import DEFAULT_WARMUP_S, ArmChoice, ArmChooser, RolloutVersions
from services.recommend.budget import BudgetPolicy
from services.recommend.flow import RecommendFlow
from services.recommend.front_bundle import FrontBundle
from services.recommend.impressions import ImpressionLog
from services.recommend.rollout_marks import shadow_marks, staged_marks
from services.recommend.shadow import ShadowScorer
from services.recommend.validation import validate_request

log = structlog.get_logger("recmesh.recommend")


class RecommendServicer(recommend_pb2_grpc.RecommendServiceServicer):
    def __init__(
        self,
        *,
        versions: RolloutVersions,
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
        admission: Admission | None = None,
        counter: ArmCounter | None = None,
        shadows: ShadowScorer | None = None,
        rollout_warmup_s: float = DEFAULT_WARMUP_S,
        challenger_flow: RecommendFlow | None = None,
    ) -> None:
        """`admission` counts the calls in flight (a new one of `max_in_flight` when not
        given; the shadow scorer reads the same); without `counter` a staged rollout's
        arms are not counted, without `shadows` a SHADOW rollout shadows nothing;
        `rollout_warmup_s`: how long the front holds a challenger before it counts
        the rollout's arms (services/recommend/arms.py); `challenger_flow` answers a
        STAGED rollout's challenger arm (built over `admission` and downstreams of its
        own, with `arm=CallArm.CHALLENGER`; the servicer closes it). Without it the
        challenger arm goes through the champion's flow, downstreams and breakers."""
        self._arms = ArmChooser(versions, warmup_s=rollout_warmup_s)
        self._impressions = impressions
        self._metrics = metrics
        self._counter = counter
        self._shadows = shadows
        self._flow = RecommendFlow(
            candidates=candidates,
            ranking=ranking,
            admission=admission or Admission(max_in_flight),
            policy=policy,
            max_candidates=max_candidates,
            batching=batching,
            tracer=tracer,
            downstream_policy=downstream_policy,
        )
        self._challenger_flow = challenger_flow or self._flow

    async def close(self) -> None:
        """Fails the downstream calls still queued for a batch (the server stops)."""
        await self._flow.close()
        if self._challenger_flow is not self._flow:
            await self._challenger_flow.close()

    async def Recommend(
        self, request: recommend_pb2.RecommendRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> recommend_pb2.RecommendResponse:
        validate_request(request)
        choice = self._arms.choose(request.user_id)
        version = choice.version
        span = trace.get_current_span()
        trace_id = format(span.get_span_context().trace_id, "032x")
        time_remaining = context.time_remaining()
        started = time.perf_counter()
        flow = self._challenger_flow if choice.arm == CHALLENGER else self._flow
        try:
            answer = await flow.answer(request, version, time_remaining)
            response = _response(version, answer, uuid.uuid4().hex, trace_id)
        except Exception:
            if choice.counted:
                self._count(choice, request.user_id, started, error=True, degraded=False)
            raise
        span.set_attribute("recmesh.serving_version", version.version_id)
        span.set_attribute("recmesh.items", len(response.items))
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
        marks: dict[str, Any] | None = None
        rollout = choice.rollout
        if rollout is not None:
            span.set_attribute("recmesh.rollout_id", rollout.rollout_id)
        if rollout is not None and choice.staged:
            response.arm = choice.arm
            span.set_attribute("recmesh.arm", choice.arm)
            span.set_attribute("recmesh.stage", int(rollout.stage))
            marks = staged_marks(rollout, choice.arm, choice.waiting, choice.counted)
            self._count(choice, request.user_id, started, error=False, degraded=answer.degraded)
        elif rollout is not None and choice.shadow is not None:
            marks = self._shadow_after(
                context, request, response, choice, rollout, started, time_remaining
            )
        self._impressions.record(request, response, time.time(), marks)
        return response

    def _count(
        self, choice: ArmChoice, user_id: str, started: float, *, error: bool, degraded: bool
    ) -> None:
        if self._counter is None or choice.rollout is None or not choice.counted:
            return
        self._counter.count(
            choice.rollout,
            choice.arm,
            user_id,
            error=error,
            degraded=degraded,
            latency_ms=(time.perf_counter() - started) * 1000.0,
        )

    def _shadow_after(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        request: recommend_pb2.RecommendRequest,
        response: recommend_pb2.RecommendResponse,
        choice: ArmChoice,
        rollout: records_pb2.Rollout,
        started: float,
        time_remaining_s: float | None,
    ) -> dict[str, Any] | None:
        """Admits the request's shadow, to start once the call is over with the time
        the caller gave the champion; the champion impression's marks when admitted,
        None when shed."""
        challenger = choice.shadow
        shadows = self._shadows
        if shadows is None or challenger is None or shadows.admit() is not None:
            return None
        trace.get_current_span().set_attribute("recmesh.shadow", True)
        latency_ms = (time.perf_counter() - started) * 1000.0
        context.add_done_callback(
            # The stubs declare DoneCallback a class; grpc calls any callable.
            lambda _: shadows.start(request, response, challenger, rollout, time_remaining_s)  # type: ignore[arg-type]
        )
        return shadow_marks(rollout, CHAMPION, latency_ms, False)


def _response(
    version: LoadedVersion[FrontBundle], answer: Answer, request_id: str, trace_id: str
) -> recommend_pb2.RecommendResponse:
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
    return recommend_pb2.RecommendResponse(
        items=items,
        serving_version=version.version_id,
        degraded=answer.degraded,
        degraded_reason=answer.degraded_reason,
        degraded_detail=answer.degraded_detail,
        request_id=request_id,
        trace_id=trace_id,
    )
