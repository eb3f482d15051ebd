"""Shadow scoring's downstream calls (services/recommend/shadow.py, the shadow flow of
services/recommend/flow.py): real gRPC fakes of candidates and ranking on port 0."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.telemetry.metrics import ServerMetrics
from recmesh.wire.candidate_codec import encode_candidates
from services.common.call_arms import ARM_METADATA, CallArm, ShadowShedError
from services.common.coalesced_downstream import NO_BATCHING, BatchingOptions
from services.common.downstream import Downstream, connect_downstream
from services.common.version_load import LoadedVersion
from services.recommend.admission import Admission
from services.recommend.budget import BudgetPolicy
from services.recommend.flow import RecommendFlow
from services.recommend.front_bundle import FrontBundle
from services.recommend.impressions import DiscardingImpressionLog
from services.recommend.shadow import ShadowScorer
from services.recommend.shadow_policy import DOWNSTREAM_BUSY, ShadowPolicy
from tests.services.downstream_fakes import Context, fake_candidates, fake_ranking
from tests.services.rollout_mesh import wait_for

CHALLENGER = LoadedVersion("sv-b", "b-sha", cast(FrontBundle, SimpleNamespace(is_baseline=False)))
CANDIDATES = encode_candidates(
    np.arange(1, 21, dtype=np.int64),
    np.zeros(20, np.uint8),
    np.linspace(1.0, 0.1, 20).astype(np.float32),
    ("popular",),
)
ROLLOUT = records_pb2.Rollout(
    rollout_id="r-1", challenger_version="sv-b", mode=records_pb2.ROLLOUT_MODE_SHADOW, share=1
)


class Impressions(DiscardingImpressionLog):
    """Keeps the marks of every record."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[Mapping[str, Any] | None] = []

    def record(
        self,
        request: recommend_pb2.RecommendRequest,
        response: recommend_pb2.RecommendResponse,
        at: float,
        marks: Mapping[str, Any] | None = None,
    ) -> None:
        self.marks.append(marks)


def _flagged(context: Context) -> bool:
    [mark] = ARM_METADATA[CallArm.SHADOW]
    return mark in [tuple(m) for m in context.invocation_metadata() or ()]


def test_a_shadow_ranking_sheds_is_counted_shed_not_as_a_challenger_error() -> None:
    """Both shadow calls carry the shadow flag; ranking refuses the Rank (busy with
    champion calls): the shadow is counted shed `downstream_busy`, not run, logs no
    challenger record, and the shadow's ranking breaker holds nothing against it."""
    flags: dict[str, bool] = {}

    async def candidates(
        request: candidates_pb2.GetCandidatesRequest, context: Context
    ) -> candidates_pb2.GetCandidatesResponse:
        flags["candidates"] = _flagged(context)
        return candidates_pb2.GetCandidatesResponse(
            serving_version=request.serving_version, candidates=CANDIDATES
        )

    async def rank(request: ranking_pb2.RankRequest, context: Context) -> ranking_pb2.RankResponse:
        flags["ranking"] = _flagged(context)
        error = ShadowShedError("busy with champion calls")
        await context.abort(error.code, str(error), trailing_metadata=error.trailing_metadata())
        raise AssertionError("abort raises")

    async def main() -> None:
        metrics = ServerMetrics("recommend")
        impressions = Impressions()
        async with fake_candidates(candidates) as candidates_at, fake_ranking(rank) as ranking_at:
            candidates_down: Downstream[Any] = await connect_downstream(
                "candidates-shadow",
                [candidates_at],
                candidates_pb2_grpc.CandidatesServiceStub,
                metrics,
            )
            ranking_down: Downstream[Any] = await connect_downstream(
                "ranking-shadow", [ranking_at], ranking_pb2_grpc.RankingServiceStub, metrics
            )
            scorer = ShadowScorer(
                flow=RecommendFlow(
                    candidates=candidates_down,
                    ranking=ranking_down,
                    admission=Admission(4),
                    policy=BudgetPolicy(),
                    max_candidates=100,
                    batching=NO_BATCHING,
                    arm=CallArm.SHADOW,
                ),
                champion_admission=Admission(32),
                policy=ShadowPolicy(cpu_budget=64.0),
                impressions=impressions,
                metrics=metrics,
            )
            try:
                for _ in range(4):
                    assert scorer.admit() is None
                    champion = recommend_pb2.RecommendResponse(request_id="q", serving_version="a")
                    request = recommend_pb2.RecommendRequest(user_id="7", k=5)
                    scorer.start(request, champion, CHALLENGER, ROLLOUT, 1.0)
                    await wait_for(lambda: scorer.in_flight == 0, 5.0, "the shadow to end")
            finally:
                await scorer.close()
                await candidates_down.close()
                await ranking_down.close()
        assert flags == {"candidates": True, "ranking": True}
        sample = metrics.registry.get_sample_value
        assert (
            sample(
                "recmesh_shadow_shed_total", {"component": "recommend", "reason": DOWNSTREAM_BUSY}
            )
            == 4
        )
        assert sample(
            "recmesh_shadow_ran_total", {"component": "recommend", "outcome": "error"}
        ) in (
            None,
            0.0,
        )
        assert impressions.marks == []
        assert (
            sample(
                "recmesh_downstream_open", {"component": "recommend", "service": "ranking-shadow"}
            )
            == 0.0
        )

    asyncio.run(main())


def test_the_shadow_flow_never_batches() -> None:
    """A shadow flow with batching on is a programmer error."""
    with pytest.raises(ValueError, match="never batches"):
        RecommendFlow(
            candidates=cast(Any, None),
            ranking=cast(Any, None),
            admission=Admission(4),
            policy=BudgetPolicy(),
            max_candidates=100,
            batching=BatchingOptions(),
            arm=CallArm.SHADOW,
        )
