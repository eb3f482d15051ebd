"""A staged challenger's own flow on the real mesh (services/recommend/servicer.py,
server.py): its downstream calls are marked challenger calls and judged by breakers of
their own, so a challenger that fails opens only its own breakers and degrades only
its own arm's answers, counted for it, while the champion's arm stays whole."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import grpc
import pytest

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.writer import WrittenBundle
from recmesh.data.dataset import Dataset
from recmesh.etcd.local_server import LocalEtcd
from recmesh.rollout.arm_counts import CHALLENGER, CHAMPION
from recmesh.rollout.cohorts import Cohorts, CohortSalt, Purpose
from services.common.call_arms import CallArm, call_arm
from testkit.bundles import build_xgboost_bundle
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import running_mesh
from tests.services.downstream_fakes import Context, fake_candidates, fake_ranking
from tests.services.mesh_calls import recommend, wait_for_version
from tests.services.rollout_mesh import (
    ejections,
    own_front,
    rollout,
    summed_counts,
    write_rollout_pointer,
)

EXPERIMENT = "exp-own-flow"
SHARE = 0.5
USERS = [str(u) for u in range(1, 41)]
COHORTS = Cohorts(CohortSalt(EXPERIMENT, Purpose.ROLLOUT))
REASON_OF = {
    "candidates": recommend_pb2.DEGRADED_REASON_CANDIDATES_UNAVAILABLE,
    "ranking": recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
}


@pytest.fixture(scope="module")
def second_xgboost(ml100k: Dataset, serving_versions: ServingVersions) -> WrittenBundle:
    """A second, small XGBoost version in the session's store: a challenger that calls
    ranking, beside the session's XGBoost champion."""
    return build_xgboost_bundle(
        ml100k, LocalArtifactStore(serving_versions.store_dir), users=20, trees=5
    )


@pytest.mark.parametrize("refusing", ["candidates", "ranking"])
def test_a_failing_challenger_opens_only_its_own_breakers_and_degrades_only_its_arm(
    refusing: str,
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    second_xgboost: WrittenBundle,
    tmp_path: Path,
) -> None:
    """`refusing` answers every challenger call UNAVAILABLE. The challenger users' calls
    are sent in a row (enough to open a breaker), then the champion users': every
    champion answer is whole and from the champion, every challenger answer degraded
    for `refusing`; only `refusing`-challenger's breaker opened; the challenger's calls
    carry the challenger mark and the champion's none; the counts charge the
    challenger arm with every degraded answer and the champion arm with none."""
    champion, challenger = serving_versions.xgboost, second_xgboost
    arms = {user: COHORTS.arm(user, SHARE).value for user in USERS}
    challenger_users = [u for u in USERS if arms[u] == CHALLENGER]
    champion_users = [u for u in USERS if arms[u] == CHAMPION]
    assert len(challenger_users) >= 5
    assert len(champion_users) >= 5
    marks: dict[tuple[str, str], set[CallArm]] = defaultdict(set)

    async def main() -> None:
        await write_rollout_pointer(etcd_server, champion, None)
        async with running_mesh(
            etcd_server, serving_versions.store_dir, tmp_path / "m.jsonl"
        ) as mesh:
            candidates_channel = grpc.aio.insecure_channel(f"127.0.0.1:{mesh.candidates.port}")
            ranking_channel = grpc.aio.insecure_channel(f"127.0.0.1:{mesh.ranking.port}")
            real_candidates = candidates_pb2_grpc.CandidatesServiceStub(candidates_channel)
            real_ranking = ranking_pb2_grpc.RankingServiceStub(ranking_channel)

            async def note_or_refuse(service: str, version: str, context: Context) -> None:
                """Notes the call's mark; refuses it when `service` refuses `version`."""
                marks[service, version].add(call_arm(context.invocation_metadata()))
                if service == refusing and version == challenger.version_id:
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "challenger refused")

            async def candidates(
                request: candidates_pb2.GetCandidatesRequest, context: Context
            ) -> candidates_pb2.GetCandidatesResponse:
                await note_or_refuse("candidates", request.serving_version, context)
                return await real_candidates.GetCandidates(
                    request, timeout=context.time_remaining()
                )

            async def rank(
                request: ranking_pb2.RankRequest, context: Context
            ) -> ranking_pb2.RankResponse:
                await note_or_refuse("ranking", request.serving_version, context)
                return await real_ranking.Rank(request, timeout=context.time_remaining())

            async with (
                candidates_channel,
                ranking_channel,
                fake_candidates(candidates) as candidates_at,
                fake_ranking(rank) as ranking_at,
                own_front(
                    etcd_server,
                    serving_versions,
                    mesh,
                    tmp_path / "front.jsonl",
                    candidates_address=candidates_at,
                    ranking_address=ranking_at,
                ) as (front, metrics),
            ):
                address = f"127.0.0.1:{front.port}"
                await wait_for_version(address, champion.version_id)
                stage = rollout(
                    challenger, records_pb2.ROLLOUT_MODE_STAGED, SHARE, experiment_id=EXPERIMENT
                )
                await write_rollout_pointer(etcd_server, champion, stage)
                await _until_refused(address, challenger_users[0], REASON_OF[refusing])
                for _ in range(2):
                    answered = [await recommend(address, u) for u in challenger_users]
                    answered += [await recommend(address, u) for u in champion_users]
                    for response in answered:
                        if response.arm == CHAMPION:
                            assert response.serving_version == champion.version_id
                            assert not response.degraded, response.degraded_detail
                            assert len(response.items) == 10
                        else:
                            assert response.serving_version == challenger.version_id
                            assert response.degraded
                            assert response.degraded_reason == REASON_OF[refusing]
                    assert {r.arm for r in answered} == {CHAMPION, CHALLENGER}
                assert ejections(metrics, f"{refusing}-challenger") >= 1
                assert ejections(metrics, "candidates") == 0
                assert ejections(metrics, "ranking") == 0
        # The front is stopped: its last counts are written.
        total = await summed_counts(etcd_server, "r-1", 0)
        assert total[CHAMPION].requests >= 2 * len(champion_users)
        assert (total[CHAMPION].degraded, total[CHAMPION].errors) == (0, 0)
        assert total[CHALLENGER].requests >= 2 * len(challenger_users)
        assert total[CHALLENGER].degraded == total[CHALLENGER].requests
        assert marks["candidates", champion.version_id] == {CallArm.CHAMPION}
        assert marks["candidates", challenger.version_id] == {CallArm.CHALLENGER}
        assert marks["ranking", champion.version_id] == {CallArm.CHAMPION}
        if refusing == "ranking":
            assert marks["ranking", challenger.version_id] == {CallArm.CHALLENGER}

    asyncio.run(main())


async def _until_refused(
    address: str, user: str, reason: recommend_pb2.DegradedReason.ValueType
) -> None:
    """Until the challenger answers `user` degraded with `reason` (the front and the
    mesh loaded the challenger, and the refusing fake refuses it)."""
    deadline = asyncio.get_running_loop().time() + 30.0
    while True:
        response = await recommend(address, user)
        if response.arm == CHALLENGER and response.degraded_reason == reason:
            return
        assert asyncio.get_running_loop().time() < deadline, "the challenger never answered"
        await asyncio.sleep(0.1)
