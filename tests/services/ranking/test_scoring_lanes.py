"""A shadow or staged challenger Rank never holds up a champion Rank
(services/ranking/scoring_lanes.py, and Rank in services/ranking/servicer.py): real
RankingServicer objects over a fake registry, features client and model, no network."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, cast

import grpc
import numpy as np
import pytest
from numpy.typing import NDArray

from recmesh.api.ranking.v1 import ranking_pb2
from recmesh.core.ranking.model import RankingModel
from recmesh.core.ranking.version import RankingVersion
from recmesh.rpc.errors import ResourceExhaustedError
from recmesh.wire.candidate_codec import encode_candidates
from services.common.call_arms import ARM_METADATA, DOMAIN, SHED, CallArm, ShadowShedError
from services.common.deadline_reserve import DeadlineReserve
from services.common.version_load import LoadedVersion
from services.common.versions import VersionRegistry
from services.ranking.features_client import FeaturesClient
from services.ranking.scoring_lanes import SHADOW_NICE, ScoringLanes
from services.ranking.servicer import RankingServicer

CANDIDATES = encode_candidates(
    np.arange(1, 21, dtype=np.int64),
    np.zeros(20, np.uint8),
    np.linspace(1.0, 0.1, 20).astype(np.float32),
    ("popular",),
)
#: How long the slow challenger's model takes to score one request.
SLOW_S = 0.4


@dataclass
class Model:
    """A model whose score takes `seconds` (time.sleep releases the GIL, as XGBoost's
    predict does) and records the thread it ran in."""

    seconds: float
    feature_names: tuple[str, ...] = ("f",)
    threads: list[str] = field(default_factory=list)

    def score(self, features: NDArray[np.float32]) -> NDArray[np.float32]:
        self.threads.append(threading.current_thread().name)
        time.sleep(self.seconds)
        return np.linspace(0.9, 0.1, features.shape[0]).astype(np.float32)


class Versions:
    def __init__(self, models: dict[str, Model]) -> None:
        self.models = models

    async def get(self, version_id: str) -> LoadedVersion[RankingVersion]:
        model = cast(RankingModel, self.models[version_id])
        return LoadedVersion(version_id, "sha", RankingVersion(cast(Any, None), model))


class Features:
    """Features answer after `seconds`, or when `release` is set."""

    def __init__(self) -> None:
        self.release: asyncio.Event | None = None

    async def matrix(
        self,
        request: ranking_pb2.RankRequest,
        model: RankingModel,
        candidates: int,
        timeout: float,  # noqa: ASYNC109 - the client's signature
    ) -> NDArray[np.float32]:
        if self.release is not None:
            await self.release.wait()
        return np.zeros((candidates, 1), np.float32)


class Context:
    def __init__(self, arm: CallArm) -> None:
        self.metadata = ARM_METADATA[arm]

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.metadata

    def time_remaining(self) -> float:
        return 5.0


def _servicer(models: dict[str, Model], features: Features, lane: ScoringLanes) -> RankingServicer:
    return RankingServicer(
        cast(VersionRegistry[RankingVersion], Versions(models)),
        cast(Any, None),
        DeadlineReserve(),
        features_client=cast(FeaturesClient, features),
        lanes=lane,
    )


async def _rank(servicer: RankingServicer, version: str, arm: CallArm) -> ranking_pb2.RankResponse:
    request = ranking_pb2.RankRequest(
        user_id="7", serving_version=version, k=5, candidates=CANDIDATES
    )
    return await servicer.Rank(request, cast(grpc.aio.ServicerContext[Any, Any], Context(arm)))


@pytest.mark.parametrize("arm", [CallArm.SHADOW, CallArm.CHALLENGER])
def test_a_slow_marked_rank_scores_in_its_lane_and_never_delays_a_champion_rank(
    arm: CallArm,
) -> None:
    """While a slow challenger scores a shadow or a staged challenger call, champion
    Ranks keep answering in a few ms, on the loop's thread; the marked call answers,
    scored in its arm's lane thread."""
    champion, challenger = Model(0.0), Model(SLOW_S)

    async def main() -> None:
        lane = ScoringLanes(shed_above=2)
        servicer = _servicer({"sv-a": champion, "sv-b": challenger}, Features(), lane)
        try:
            marked = asyncio.create_task(_rank(servicer, "sv-b", arm))
            await asyncio.sleep(0.05)
            started = time.perf_counter()
            for _ in range(5):
                await _rank(servicer, "sv-a", CallArm.CHAMPION)
            champion_s = time.perf_counter() - started
            assert not marked.done()
            assert len((await marked).item_ids.data) > 0
        finally:
            lane.close()
        assert champion_s < SLOW_S / 4
        assert champion.threads == [threading.current_thread().name] * 5
        assert len(challenger.threads) == 1
        assert challenger.threads[0].startswith(f"ranking-{arm.value}")

    asyncio.run(main())


def test_a_shadow_rank_is_shed_while_champion_ranks_are_in_flight_above_the_limit() -> None:
    """Three champion Ranks waiting for features with a limit of 2: a shadow Rank is
    refused RESOURCE_EXHAUSTED with the shed ErrorInfo and never scores; once they
    answered, it runs."""
    champion, challenger = Model(0.0), Model(0.0)
    features = Features()

    async def main() -> None:
        lane = ScoringLanes(shed_above=2)
        servicer = _servicer({"sv-a": champion, "sv-b": challenger}, features, lane)
        features.release = asyncio.Event()
        try:
            champions = [
                asyncio.create_task(_rank(servicer, "sv-a", CallArm.CHAMPION)) for _ in range(3)
            ]
            await asyncio.sleep(0.02)
            assert lane.answering_in_flight == 3
            with pytest.raises(ShadowShedError) as shed:
                await _rank(servicer, "sv-b", CallArm.SHADOW)
            assert isinstance(shed.value, ResourceExhaustedError)
            info = shed.value.error_info()
            assert (info.domain, info.reason) == (DOMAIN, SHED)
            assert challenger.threads == []
            features.release.set()
            await asyncio.gather(*champions)
            assert lane.answering_in_flight == 0
            await _rank(servicer, "sv-b", CallArm.SHADOW)
        finally:
            lane.close()
        assert len(challenger.threads) == 1

    asyncio.run(main())


def test_a_champion_rank_never_sheds_and_never_leaves_the_loop() -> None:
    """However many champion calls are in flight, a champion Rank scores on the loop."""
    champion = Model(0.0)

    async def main() -> None:
        lane = ScoringLanes(shed_above=0)
        servicer = _servicer({"sv-a": champion}, Features(), lane)
        try:
            await asyncio.gather(*(_rank(servicer, "sv-a", CallArm.CHAMPION) for _ in range(4)))
        finally:
            lane.close()
        assert champion.threads == [threading.current_thread().name] * 4

    asyncio.run(main())


def test_a_challenger_rank_is_never_shed_and_counts_as_answering() -> None:
    """With a limit of 0 and champion Ranks in flight, a challenger Rank still scores and
    answers; while it is in flight it counts as answering, so a shadow is shed."""
    champion, challenger, shadowed = Model(0.0), Model(0.0), Model(0.0)
    features = Features()

    async def main() -> None:
        lane = ScoringLanes(shed_above=0)
        models = {"sv-a": champion, "sv-b": challenger, "sv-c": shadowed}
        servicer = _servicer(models, features, lane)
        features.release = asyncio.Event()
        try:
            champions = [
                asyncio.create_task(_rank(servicer, "sv-a", CallArm.CHAMPION)) for _ in range(2)
            ]
            staged = asyncio.create_task(_rank(servicer, "sv-b", CallArm.CHALLENGER))
            await asyncio.sleep(0.02)
            assert lane.answering_in_flight == 3
            with pytest.raises(ShadowShedError):
                await _rank(servicer, "sv-c", CallArm.SHADOW)
            features.release.set()
            await asyncio.gather(*champions)
            assert len((await staged).item_ids.data) > 0
            assert lane.answering_in_flight == 0
        finally:
            lane.close()
        assert len(challenger.threads) == 1
        assert shadowed.threads == []

    asyncio.run(main())


def test_a_challenger_rank_never_queues_behind_a_shadow_scoring() -> None:
    """A slow shadow scoring holds the shadow lane's thread: a challenger Rank scores in
    its own lane's thread meanwhile and answers before the shadow does."""
    shadowed, challenger = Model(SLOW_S), Model(0.0)

    async def main() -> None:
        lane = ScoringLanes(shed_above=2)
        servicer = _servicer({"sv-b": challenger, "sv-c": shadowed}, Features(), lane)
        try:
            shadow = asyncio.create_task(_rank(servicer, "sv-c", CallArm.SHADOW))
            await asyncio.sleep(0.05)
            started = time.perf_counter()
            await _rank(servicer, "sv-b", CallArm.CHALLENGER)
            challenger_s = time.perf_counter() - started
            assert not shadow.done()
            await shadow
        finally:
            lane.close()
        assert challenger_s < SLOW_S / 4
        assert challenger.threads[0].startswith("ranking-challenger")
        assert shadowed.threads[0].startswith("ranking-shadow")

    asyncio.run(main())


def test_only_marked_calls_have_a_lane() -> None:
    """Champion calls score on the loop: asking a lane to score one is a programmer
    error."""

    async def main() -> None:
        lane = ScoringLanes()
        try:
            with pytest.raises(ValueError, match="on the loop"):
                await lane.score(
                    CallArm.CHAMPION, cast(RankingModel, Model(0.0)), np.zeros((1, 1), np.float32)
                )
        finally:
            lane.close()

    asyncio.run(main())


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread priority is Linux's")
def test_shadow_scoring_runs_at_the_lowest_cpu_priority_and_a_challengers_does_not() -> None:
    """The shadow lane's thread runs at nice 19, so the kernel gives shadow scoring only
    CPU nothing else wants; the challenger lane, which answers users, keeps the
    process's priority."""
    lanes = ScoringLanes()

    class Probe:
        def score(self, matrix: NDArray[np.float32]) -> NDArray[np.float32]:
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            return matrix[:, 0]

    seen: list[int] = []
    matrix = np.zeros((2, 1), np.float32)
    model = cast(RankingModel, Probe())

    async def both() -> None:
        await lanes.score(CallArm.SHADOW, model, matrix)
        await lanes.score(CallArm.CHALLENGER, model, matrix)

    try:
        asyncio.run(both())
    finally:
        lanes.close()
    assert seen == [SHADOW_NICE, os.getpriority(os.PRIO_PROCESS, 0)]
