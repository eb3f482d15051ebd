"""Shadow scoring: the challenger ranks a request after the champion's answer has left.

In a SHADOW rollout the front answers every user with the champion; for the users
of the shadow share (services/recommend/arms.py) it then runs the same flow with
the challenger version and the same request, and logs both lists as a pair of
impression records (services/recommend/rollout_marks.py). The shadow must never
delay or change an answer, so:

- it runs only once the RPC is over (`start` is called from the call's done
  callback), in a task of its own;
- it has a flow of its own over Downstream instances of its own (own channels and
  breakers, no batching): a failing challenger can neither open the champion's
  breakers nor join its batches;
- it is shed first (services/recommend/shadow_policy.py): when the front is busy,
  when `max_in_flight` shadows run already, or when the front is over its CPU
  budget; `admit` decides before the answer is logged, so a shed request's
  impression is a plain one and a shadowed one always gets its pair;
- its budget is the champion's: the time the caller gave the champion (or the
  front's default), never more;
- its downstream calls are marked shadow calls (services/common/call_arms.py):
  ranking runs a shadow's scoring off its event loop and refuses it while answering
  calls are in flight there; such a shadow is counted shed (`downstream_busy`) and
  logs no challenger record (the champion's record stays unpaired, which the
  shadow report counts as such), so a busy downstream never reads as a challenger
  error.

A challenger that fails or degrades is logged with `error: true`, `degraded` and no
items; a shadow that raised anything else is logged (with its traceback) the same
way, so the champion's record always has its pair.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable

import structlog

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.rollout.arm_counts import CHALLENGER
from recmesh.telemetry.metrics import ServerMetrics
from services.common.versions import LoadedVersion
from services.recommend.admission import Admission
from services.recommend.answer import Answer, reason_label
from services.recommend.cpu_meter import CpuMeter
from services.recommend.flow import DownstreamShedShadowError, RecommendFlow
from services.recommend.front_bundle import FrontBundle
from services.recommend.impressions import ImpressionLog
from services.recommend.rollout_marks import shadow_marks
from services.recommend.shadow_policy import DOWNSTREAM_BUSY, ShadowPolicy

log = structlog.get_logger("recmesh.recommend.shadow")

OK = "ok"
ERROR = "error"


class ShadowScorer:
    """Runs challenger rankings off the response path, inside `policy`'s limits."""

    def __init__(
        self,
        *,
        flow: RecommendFlow,
        champion_admission: Admission,
        policy: ShadowPolicy,
        impressions: ImpressionLog,
        metrics: ServerMetrics,
        cpu: CpuMeter | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._flow = flow
        self._champion = champion_admission
        self._policy = policy
        self._impressions = impressions
        self._metrics = metrics
        self._cpu = cpu or CpuMeter()
        self._clock = clock
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        """Shadows admitted and not finished yet."""
        return self._in_flight

    def admit(self) -> str | None:
        """Takes a shadow slot (None) or names why the shadow is shed (counted, logged
        at debug). A slot taken must be handed to `start`."""
        reason = self._policy.shed_reason(
            champion_in_flight=self._champion.in_flight,
            champion_limit=self._champion.max_in_flight,
            shadows_in_flight=self._in_flight,
            cpu_cores=self._cpu.cores,
        )
        if reason is not None:
            self._metrics.shadow_shed.labels(self._metrics.component, reason).inc()
            log.debug("shadow_shed", reason=reason)
            return reason
        self._in_flight += 1
        return None

    def start(
        self,
        request: recommend_pb2.RecommendRequest,
        champion: recommend_pb2.RecommendResponse,
        challenger: LoadedVersion[FrontBundle],
        rollout: records_pb2.Rollout,
        time_remaining_s: float | None,
    ) -> None:
        """Runs the admitted shadow of `champion`'s request in a task of its own, in a
        context of its own (its spans are a trace of their own, not the answer's)."""
        task = asyncio.get_running_loop().create_task(
            self._shadow(request, champion, challenger, rollout, time_remaining_s),
            name="recommend-shadow",
            context=contextvars.Context(),
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancels the shadows still running and closes the shadow flow (shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flow.close()

    async def _shadow(
        self,
        request: recommend_pb2.RecommendRequest,
        champion: recommend_pb2.RecommendResponse,
        challenger: LoadedVersion[FrontBundle],
        rollout: records_pb2.Rollout,
        time_remaining_s: float | None,
    ) -> None:
        started = self._clock()
        try:
            answer: Answer | None = await self._flow.answer(request, challenger, time_remaining_s)
        except DownstreamShedShadowError as shed:
            self._metrics.shadow_shed.labels(self._metrics.component, DOWNSTREAM_BUSY).inc()
            log.debug("shadow_shed", reason=DOWNSTREAM_BUSY, detail=str(shed))
            return
        except Exception:
            log.exception("shadow_failed", request_id=champion.request_id)
            answer = None
        finally:
            self._in_flight -= 1
        latency_ms = (self._clock() - started) * 1000.0
        response = _challenger_response(champion, challenger.version_id, answer)
        failed = answer is None or answer.degraded
        self._impressions.record(
            request,
            response,
            time.time(),
            shadow_marks(rollout, CHALLENGER, latency_ms, failed),
        )
        outcome = ERROR if failed else OK
        self._metrics.shadow_ran.labels(self._metrics.component, outcome).inc()
        log.info(
            "shadow_scored",
            request_id=champion.request_id,
            rollout_id=rollout.rollout_id,
            challenger_version=challenger.version_id,
            outcome=outcome,
            latency_ms=round(latency_ms, 3),
            degraded_reason=reason_label(response.degraded_reason) if response.degraded else "",
        )


def _challenger_response(
    champion: recommend_pb2.RecommendResponse, version_id: str, answer: Answer | None
) -> recommend_pb2.RecommendResponse:
    """What the challenger would have answered: items only when it neither failed nor
    degraded (no titles: nobody reads them)."""
    response = recommend_pb2.RecommendResponse(
        serving_version=version_id,
        request_id=champion.request_id,
        trace_id=champion.trace_id,
    )
    if answer is None:
        response.degraded = True
        response.degraded_detail = "the shadow raised (see the shadow_failed log)"
        return response
    if answer.degraded:
        response.degraded = True
        response.degraded_reason = answer.degraded_reason
        response.degraded_detail = answer.degraded_detail
        return response
    response.items.extend(
        recommend_pb2.RecommendedItem(item_id=i, score=s, source=src)
        for i, s, src in zip(
            answer.item_ids.tolist(), answer.scores.tolist(), answer.sources, strict=True
        )
    )
    return response
