"""The Recommend servicer's part in a staged rollout (services/recommend/servicer.py): a
request that fails after its arm was chosen is counted as that arm's error."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import grpc
import pytest

from recmesh.api.candidates.v1 import candidates_pb2_grpc
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.api.ranking.v1 import ranking_pb2_grpc
from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.rollout.arm_counts import ArmTally
from recmesh.telemetry.metrics import ServerMetrics
from services.common.downstream import Downstream
from services.common.versions import LoadedVersion
from services.recommend.answer import Answer
from services.recommend.arm_counter import ArmCounter
from services.recommend.budget import BudgetPolicy
from services.recommend.flow import RecommendFlow
from services.recommend.front_bundle import FrontBundle
from services.recommend.impressions import DiscardingImpressionLog
from services.recommend.servicer import RecommendServicer

CHAMPION = LoadedVersion("sv-a", "a-sha", cast(FrontBundle, object()))
CHALLENGER = LoadedVersion("sv-b", "b-sha", cast(FrontBundle, object()))
STAGE = records_pb2.Rollout(
    rollout_id="r-1",
    experiment_id="exp-1",
    challenger_version="sv-b",
    mode=records_pb2.ROLLOUT_MODE_STAGED,
    share=1.0,
    stage=3,
)


class Versions:
    rollout = STAGE

    def current_or_raise(self) -> LoadedVersion[FrontBundle]:
        return CHAMPION

    def challenger_version(self) -> LoadedVersion[FrontBundle] | None:
        return CHALLENGER


class Context:
    def time_remaining(self) -> float:
        return 1.0


def _downstream(service: str, stub: Any) -> Downstream[Any]:
    def connect(address: str) -> tuple[grpc.aio.Channel, Any]:
        channel = grpc.aio.insecure_channel(address)
        return channel, stub(channel)

    return Downstream(service, ["127.0.0.1:1"], connect, ServerMetrics("recommend"))


def test_a_request_failing_after_its_arm_was_chosen_counts_as_that_arms_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flow raises for the challenger: the call fails (the interceptor maps it), and
    the challenger's counts hold one request, one error."""

    async def broken(
        self: RecommendFlow,
        request: recommend_pb2.RecommendRequest,
        version: LoadedVersion[FrontBundle],
        time_remaining_s: float | None,
    ) -> Answer:
        raise RuntimeError(f"broken for {version.version_id}")

    monkeypatch.setattr(RecommendFlow, "answer", broken)

    async def main() -> None:
        counter = ArmCounter("f-1", lambda: None)
        candidates = _downstream("candidates", candidates_pb2_grpc.CandidatesServiceStub)
        ranking = _downstream("ranking", ranking_pb2_grpc.RankingServiceStub)
        servicer = RecommendServicer(
            versions=Versions(),
            candidates=candidates,
            ranking=ranking,
            impressions=DiscardingImpressionLog(),
            metrics=ServerMetrics("recommend"),
            policy=BudgetPolicy(),
            max_candidates=10,
            max_in_flight=4,
            counter=counter,
            rollout_warmup_s=0.0,
        )
        try:
            with pytest.raises(RuntimeError, match="broken for sv-b"):
                await servicer.Recommend(
                    recommend_pb2.RecommendRequest(user_id="7", k=5),
                    cast(grpc.aio.ServicerContext[Any, Any], Context()),
                )
        finally:
            await servicer.close()
            await candidates.close()
            await ranking.close()
        [pending] = counter.pending()
        assert (pending.counts.rollout_id, pending.counts.stage) == ("r-1", 3)
        assert pending.counts.arms["challenger"] == ArmTally(requests=1, errors=1, users=1)
        assert pending.counts.arms["champion"] == ArmTally()

    asyncio.run(main())
