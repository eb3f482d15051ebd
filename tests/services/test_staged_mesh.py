"""A staged rollout on the real mesh: stable, nested arms that survive a front restart,
answers that say which arm answered, and counts per arm in etcd
(services/recommend/arms.py, arm_counter.py, arm_counts_writer.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.etcd.local_server import LocalEtcd
from recmesh.rollout.arm_counts import CHALLENGER, CHAMPION
from recmesh.rollout.cohorts import Cohorts, CohortSalt, Purpose
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import running_mesh
from tests.services.mesh_calls import recommend, wait_for_version
from tests.services.rollout_mesh import (
    impression_lines,
    own_front,
    rollout,
    summed_counts,
    write_rollout_pointer,
)

EXPERIMENT = "exp-staged"
USERS = [str(u) for u in range(1, 161)]
COHORTS = Cohorts(CohortSalt(EXPERIMENT, Purpose.ROLLOUT))


def _expected(share: float) -> dict[str, str]:
    return {user: COHORTS.arm(user, share).value for user in USERS}


async def _responses(address: str) -> dict[str, recommend_pb2.RecommendResponse]:
    return {user: await recommend(address, user) for user in USERS}


def _arms(responses: dict[str, recommend_pb2.RecommendResponse]) -> dict[str, str]:
    return {user: r.arm for user, r in responses.items()}


def test_a_user_keeps_their_arm_within_a_stage_across_stages_and_restarts(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """5 % stage: each user gets the arm of their bucket on every request, the answer's
    arm and serving version agree; 25 % stage: every 5 % challenger user is still one;
    a restarted front, and the stage's record signed again (as after a pause and resume
    or a control-plane restart), give every user the same arm;
    the impressions and spans name the arm and the stage; etcd holds each stage's
    counts, summed per arm over both fronts, equal to the answers the impressions
    record."""
    champion, challenger = serving_versions.xgboost, serving_versions.baseline
    at_5, at_25 = _expected(0.05), _expected(0.25)
    assert (
        0
        < sum(a == CHALLENGER for a in at_5.values())
        < sum(a == CHALLENGER for a in at_25.values())
    )
    version_of = {CHAMPION: champion.version_id, CHALLENGER: challenger.version_id}
    state_dir = tmp_path / "front-state"
    state_dir.mkdir()
    impressions = tmp_path / "front.jsonl"

    async def main() -> None:
        await write_rollout_pointer(etcd_server, champion, None)
        async with running_mesh(
            etcd_server, serving_versions.store_dir, tmp_path / "m.jsonl"
        ) as mesh:
            async with own_front(
                etcd_server, serving_versions, mesh, impressions, state_dir=state_dir
            ) as (front, _):
                address = f"127.0.0.1:{front.port}"
                await wait_for_version(address, champion.version_id)
                stage0 = rollout(
                    challenger, records_pb2.ROLLOUT_MODE_STAGED, 0.05, experiment_id=EXPERIMENT
                )
                await write_rollout_pointer(etcd_server, champion, stage0)
                first = next(u for u, a in at_5.items() if a == CHALLENGER)
                await _until_arm(address, first, CHALLENGER)
                for _ in range(2):
                    responses = await _responses(address)
                    assert _arms(responses) == at_5
                    for response in responses.values():
                        assert response.serving_version == version_of[response.arm]
                        assert not response.degraded
                stage1 = rollout(
                    challenger,
                    records_pb2.ROLLOUT_MODE_STAGED,
                    0.25,
                    stage=1,
                    experiment_id=EXPERIMENT,
                )
                await write_rollout_pointer(etcd_server, champion, stage1)
                newcomer = next(u for u in USERS if at_25[u] == CHALLENGER and at_5[u] == CHAMPION)
                await _until_arm(address, newcomer, CHALLENGER)
                assert _arms(await _responses(address)) == at_25
            async with own_front(
                etcd_server, serving_versions, mesh, impressions, state_dir=state_dir
            ) as (front, _):
                address = f"127.0.0.1:{front.port}"
                await _until_arm(address, newcomer, CHALLENGER)
                responses = await _responses(address)
                assert _arms(responses) == at_25
                assert {u for u, a in at_5.items() if a == CHALLENGER} <= {
                    u for u, r in responses.items() if r.serving_version == challenger.version_id
                }
                # A pause leaves the pointer alone; a control-plane restart (or a
                # resume) may sign the same stage again: a new record, a higher
                # sequence, the same rollout id, share and stage. Nobody flips, from
                # the moment it is written until well after the front has it.
                await write_rollout_pointer(etcd_server, champion, stage1)
                deadline = asyncio.get_running_loop().time() + 1.0
                while asyncio.get_running_loop().time() < deadline:
                    again = await _responses(address)
                    assert _arms(again) == at_25
                    assert {u: r.serving_version for u, r in again.items()} == {
                        u: version_of[a] for u, a in at_25.items()
                    }
        # Both fronts are stopped: each wrote its last counts, every impression is out.
        staged = [r for r in impression_lines(impressions) if r.get("rollout") == "staged"]
        assert staged
        for record in staged:
            assert record["rollout_id"] == "r-1"
            assert record["serving_version"] == version_of[record["arm"]]
            expected = (at_5 if record["stage"] == 0 else at_25)[record["user_id"]]
            # The champion answers a challenger user while the challenger loads.
            waiting = record.get("waiting", False)
            assert record["arm"] == (CHAMPION if waiting else expected)
            assert not waiting or expected == CHALLENGER
        arms_seen = {
            span.attributes.get("recmesh.arm")
            for span in mesh.spans.get_finished_spans()
            if span.attributes and "recmesh.arm" in span.attributes
        }
        assert arms_seen == {CHAMPION, CHALLENGER}
        for stage in (0, 1):
            total = await summed_counts(etcd_server, "r-1", stage)
            for arm in (CHAMPION, CHALLENGER):
                answered = [
                    r
                    for r in staged
                    if (r["stage"], r["arm"]) == (stage, arm) and not r.get("waiting")
                ]
                assert total[arm].requests == len(answered), (stage, arm)
                assert total[arm].users >= len({r["user_id"] for r in answered})
                assert (total[arm].errors, total[arm].degraded) == (0, 0)

    asyncio.run(main())


async def _until_arm(address: str, user: str, arm: str, within_s: float = 30.0) -> None:
    """Until the user is answered by `arm` (the front follows the record and loaded the
    challenger)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        try:
            if (await recommend(address, user)).arm == arm:
                return
        except grpc.aio.AioRpcError:
            pass  # a front that just started has no version loaded yet
        assert asyncio.get_running_loop().time() < deadline, f"{user} never got {arm}"
        await asyncio.sleep(0.1)
