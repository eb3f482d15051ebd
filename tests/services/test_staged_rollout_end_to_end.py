"""A staged rollout end to end on the real mesh: the control plane server (its own rollout
driver task) over real etcd, the four services following its signed pointer, real
Recommend traffic through the front; the counts reach the control plane only as the
front writes them. Nothing is written into etcd by hand.

Traffic is sent one request at a time: every server of the test mesh shares one event
loop, so concurrent requests would lend the challenger's ranking time to the champion's
answers and blur the arms' latencies the guardrail compares.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
import pytest

from control_plane.rollout_driver import DRIVER_ACTOR
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.writer import WrittenBundle
from recmesh.data.dataset import Dataset
from recmesh.etcd.local_server import LocalEtcd
from recmesh.rollout.arm_counts import CHALLENGER, CHAMPION
from recmesh.rollout.cohorts import Cohorts, CohortSalt, Purpose
from services.recommend.arms import DEFAULT_WARMUP_S
from testkit.bundles import build_xgboost_bundle
from tests.fixtures_serving import ServingVersions
from tests.services.control_plane_mesh import ControlledMesh, control_plane_and_mesh
from tests.services.mesh_calls import wait_for_version

USERS = tuple(str(u) for u in range(1, 201))
#: The stage every plan here starts with: half the users on the challenger.
SHARE = 0.5
#: The control plane's driver checks for due looks this often (the plans look every 0.5 s).
TICK_S = 0.2
LOOK_S = 0.5
#: The front's latency above which a request counts as slow for latency_p99. Measured
#: here on 2 shared cores over five runs, as the caller sees it: the baseline champion
#: p50 2-4 ms, p99 6-15 ms; the slow challenger p50 40-80 ms, never under 37 ms
#: (ranking its 500 candidates alone costs about 50 ms). The guardrail compares the
#: arms' shares above it, so a load that slows both arms moves both shares alike.
THRESHOLD_MS = 25.0
WITHIN_S = 60.0

SlowChallenger = WrittenBundle


@pytest.fixture(scope="module")
def slow_challenger(ml100k: Dataset, serving_versions: ServingVersions) -> SlowChallenger:
    """A real XGBoost version that is slow to rank, in the session's store: 15,000 trees
    of at most 8 levels, trained on two users' candidates so that training takes about
    10 s while scoring 500 candidates takes about 50 ms (the trees' count sets the cost)."""
    return build_xgboost_bundle(
        ml100k,
        LocalArtifactStore(serving_versions.store_dir),
        users=2,
        trees=15000,
        max_depth=8,
        min_child_weight=0.0,
    )


def _plan(
    *,
    hold_seconds: float,
    min_requests: int,
    guardrails: Iterable[records_pb2.LiveGuardrail],
) -> records_pb2.RolloutPlan:
    return records_pb2.RolloutPlan(
        stages=(SHARE, 1.0),
        hold_seconds=hold_seconds,
        min_requests_per_arm=min_requests,
        guardrails=guardrails,
        look_interval_seconds=LOOK_S,
    )


def _latency(margin: float = 0.05) -> records_pb2.LiveGuardrail:
    return records_pb2.LiveGuardrail(
        name="latency_p99", margin=margin, alpha=0.05, threshold_ms=THRESHOLD_MS
    )


def _errors() -> records_pb2.LiveGuardrail:
    return records_pb2.LiveGuardrail(name="error_rate", margin=0.05, alpha=0.05)


@dataclass
class Answers:
    """What the front answered, request by request: the user, the answer, its latency
    as the caller saw it."""

    arms: Callable[[str], str]
    sent: list[tuple[str, recommend_pb2.RecommendResponse, float]] = field(default_factory=list)

    def latencies_ms(self, arm: str) -> list[float]:
        """The latencies of the user's own arm's answers (not of a challenger user's
        answers by the champion while the challenger loaded)."""
        return [ms for user, r, ms in self.sent if r.arm == arm == self.arms(user)]


class Front:
    """One channel to the front; Recommend calls one at a time."""

    def __init__(self, channel: grpc.aio.Channel, answers: Answers) -> None:
        self._stub = recommend_pb2_grpc.RecommendServiceStub(channel)
        self.answers = answers

    async def recommend(self, user: str) -> recommend_pb2.RecommendResponse:
        started = time.perf_counter()
        response = await self._stub.Recommend(
            recommend_pb2.RecommendRequest(user_id=user, k=10), timeout=5.0
        )
        self.answers.sent.append((user, response, (time.perf_counter() - started) * 1000.0))
        return response

    async def until_answered(self, user: str, arm: str, version: str) -> None:
        """Until `user` is answered whole by `arm` with `version`: the front and the
        services behind it follow the stage's pointer record and loaded its versions."""
        deadline = time.monotonic() + WITHIN_S
        while True:
            response = await self.recommend(user)
            if (response.arm, response.serving_version) == (arm, version) and (
                not response.degraded
            ):
                return
            assert time.monotonic() < deadline, f"{user} never answered by {arm} {version}"
            await asyncio.sleep(0.1)


@dataclass(frozen=True)
class Stage:
    """A staged rollout's first stage, started through the control plane, and a front to
    send it traffic."""

    cm: ControlledMesh
    experiment_id: str
    cohorts: Cohorts
    front: Front

    def in_arm(self, arm: str) -> list[str]:
        """The users the stage gives `arm`, in USERS' order."""
        return [user for user in USERS if self.cohorts.arm(user, SHARE).value == arm]

    async def rollout(self) -> pb.GetRolloutResponse:
        return await self.cm.rollout(self.experiment_id)

    async def until_ended(self, users: Iterable[str]) -> pb.GetRolloutResponse:
        """Sends Recommend for `users` in turn, again and again, until the control plane
        ends the rollout; the rollout as GetRollout shows it then."""
        deadline = time.monotonic() + WITHIN_S
        rotation = list(users)
        sent = 0
        while True:
            if sent % 10 == 0:
                shown = await self.rollout()
                if shown.rollout.status != records_pb2.ROLLOUT_STATUS_RUNNING:
                    return shown
                assert time.monotonic() < deadline, (
                    f"the rollout still runs after {WITHIN_S} s: {shown.looks[-1:]}"
                )
            await self.front.recommend(rotation[sent % len(rotation)])
            sent += 1

    async def until_look(
        self, seen: Callable[[records_pb2.RolloutLook], bool]
    ) -> pb.GetRolloutResponse:
        """Until the rollout's last look is `seen`; the rollout as GetRollout shows it."""
        deadline = time.monotonic() + WITHIN_S
        while True:
            shown = await self.rollout()
            if shown.looks and seen(shown.looks[-1]):
                return shown
            assert time.monotonic() < deadline, f"no such look within {WITHIN_S} s: {shown}"
            await asyncio.sleep(0.2)

    async def audit(self, action: str) -> records_pb2.AuditEntry:
        """The one audit entry of `action`, written by the rollout driver about the
        experiment."""
        entries = [e for e in await self.cm.audit_entries() if e.action == action]
        assert len(entries) == 1, entries
        entry = entries[0]
        assert (entry.actor, entry.subject) == (DRIVER_ACTOR, self.experiment_id)
        return entry


@asynccontextmanager
async def _first_stage(
    etcd: LocalEtcd,
    versions: ServingVersions,
    directory: Path,
    challenger: WrittenBundle,
    plan: records_pb2.RolloutPlan,
) -> AsyncIterator[Stage]:
    """The baseline serving through the control plane and the mesh; the challenger
    registered, its experiment evaluated PASS and approved, and promoted by the operator
    with the plan, as users do."""
    champion = versions.baseline
    async with (
        control_plane_and_mesh(
            etcd,
            versions.store_dir,
            champion.manifest_sha256,
            directory,
            rollout_tick_seconds=TICK_S,
        ) as cm,
        grpc.aio.insecure_channel(cm.mesh.front) as channel,
    ):
        await wait_for_version(cm.mesh.front, champion.version_id)
        await cm.flow.register(challenger.manifest_sha256)
        experiment = await cm.flow.prepare(challenger.version_id)
        started = await cm.promote_staged(experiment.experiment_id, plan)
        assert started.rollout.status == records_pb2.ROLLOUT_STATUS_RUNNING
        assert started.pointer.rollout.share == SHARE
        cohorts = Cohorts(CohortSalt(experiment.experiment_id, Purpose.ROLLOUT))
        front = Front(channel, Answers(lambda user: cohorts.arm(user, SHARE).value))
        yield Stage(cm, experiment.experiment_id, cohorts, front)


async def _everyone_answered_by(front: Front, version: WrittenBundle, first: str) -> None:
    """Once the front follows the pointer record without a rollout (`first`, a user the
    stage did not answer with `version`, is answered by it with no arm), every user is
    answered by `version`, with no arm."""
    await front.until_answered(first, "", version.version_id)
    for user in USERS:
        response = await front.recommend(user)
        assert (response.arm, response.serving_version) == ("", version.version_id)


def _ended(
    shown: pb.GetRolloutResponse, status: records_pb2.RolloutStatus.ValueType, decision: str
) -> records_pb2.RolloutLook:
    """Checks that the rollout ended with `status` and kept every look (as many as its
    record counts), each a hold but the last, `decision`, whose reason the record keeps;
    returns the last look."""
    record, looks = shown.rollout, list(shown.looks)
    assert record.status == status
    assert len(looks) == record.looks
    assert [look.decision for look in looks] == ["hold"] * (len(looks) - 1) + [decision]
    assert record.ended_reason == looks[-1].reason
    return looks[-1]


def test_a_challenger_breaching_the_latency_guardrail_is_rolled_back_by_the_control_plane(
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    slow_challenger: SlowChallenger,
    tmp_path: Path,
) -> None:
    """A slow XGBoost challenger at 50 % against the baseline, a latency_p99 guardrail at
    25 ms: real traffic until the control plane rolls the stage back by itself (status
    ROLLED_BACK, every look kept, the last one the rollback), the pointer the champion's
    alone, the audit entry naming latency_p99 and both arms' counts as the last look
    measured them, and the front answering everyone with the champion again."""
    champion = serving_versions.baseline
    plan = _plan(hold_seconds=600.0, min_requests=30, guardrails=(_latency(),))

    async def main() -> None:
        async with _first_stage(
            etcd_server, serving_versions, tmp_path, slow_challenger, plan
        ) as stage:
            first_challenger_user = stage.in_arm(CHALLENGER)[0]
            await stage.front.until_answered(
                first_challenger_user, CHALLENGER, slow_challenger.version_id
            )
            shown = await stage.until_ended(USERS)

            last = _ended(shown, records_pb2.ROLLOUT_STATUS_ROLLED_BACK, "rollback")
            assert last.reason.startswith("latency_p99 breached")
            assert last.stage == 0
            statuses = {g.name: g.status for g in last.guardrails}
            assert statuses.pop("latency_p99") == "BREACHED"
            assert set(statuses.values()) == {"HOLDING"}
            assert min(last.champion.requests, last.challenger.requests) >= 30
            assert last.challenger.slow > last.champion.slow
            pointer = await stage.cm.pointer()
            assert not pointer.HasField("rollout")
            assert pointer.serving_version == champion.version_id
            entry = await stage.audit("rollout_rolled_back")
            assert entry.details["breached"] == "latency_p99"
            assert entry.details["latency_p99.challenger"] == (
                f"{last.challenger.slow}/{last.challenger.requests}"
            )
            assert entry.details["latency_p99.champion"] == (
                f"{last.champion.slow}/{last.champion.requests}"
            )
            for arm, measured in ((CHAMPION, last.champion), (CHALLENGER, last.challenger)):
                assert f"requests={measured.requests} " in entry.details[f"{arm}_counts"]
                assert f"slow={measured.slow} " in entry.details[f"{arm}_counts"]
            print(_latency_summary(stage.front.answers, last))
            await _everyone_answered_by(stage.front, champion, first_challenger_user)

    asyncio.run(main())


def _latency_summary(answers: Answers, last: records_pb2.RolloutLook) -> str:
    """Each arm's latencies as the caller saw them and the last look's slow counts (shown
    with pytest -s: the gap the guardrail relies on)."""
    arms = []
    for arm in (CHAMPION, CHALLENGER):
        ms = answers.latencies_ms(arm)
        p50, p99 = np.percentile(ms, [50, 99])
        arms.append(
            f"{arm} n={len(ms)} p50={p50:.1f} p99={p99:.1f} min={min(ms):.1f} max={max(ms):.1f}"
        )
    return (
        f"front latency (ms): {'; '.join(arms)}; last look slow: champion "
        f"{last.champion.slow}/{last.champion.requests}, challenger "
        f"{last.challenger.slow}/{last.challenger.requests}"
    )


def test_a_stage_with_too_few_requests_does_not_advance(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """Held well past its hold time (1 s) with a few requests per arm of the 50 each
    needs: every look holds, says how many requests each arm has and needs, and finds
    every guardrail NOT_ENOUGH_DATA; the rollout still runs at stage 0 and the
    pointer still names it."""
    champion, challenger = serving_versions.baseline, serving_versions.xgboost
    needed = 50
    plan = _plan(hold_seconds=1.0, min_requests=needed, guardrails=(_errors(),))

    async def main() -> None:
        async with _first_stage(etcd_server, serving_versions, tmp_path, challenger, plan) as stage:
            front = stage.front
            await front.until_answered(
                stage.in_arm(CHALLENGER)[0], CHALLENGER, challenger.version_id
            )
            # The front counts neither arm until it has held the challenger this long.
            await asyncio.sleep(DEFAULT_WARMUP_S + 0.5)
            for user in [*stage.in_arm(CHAMPION)[:3], *stage.in_arm(CHALLENGER)[:4]]:
                await front.recommend(user)
            counted = (3, 4)

            shown = await stage.until_look(
                lambda look: (
                    look.held_seconds > 3 * plan.hold_seconds
                    and (look.champion.requests, look.challenger.requests) == counted
                )
            )
            record, looks = shown.rollout, list(shown.looks)
            assert record.status == records_pb2.ROLLOUT_STATUS_RUNNING
            assert record.stage == 0
            assert len(looks) == record.looks >= 3
            assert {look.decision for look in looks} == {"hold"}
            assert {look.stage for look in looks} == {0}
            # The plan as recorded: error_rate and degraded_rate are always judged.
            names = [g.name for g in record.plan.guardrails]
            assert names[0] == "error_rate"
            assert "degraded_rate" in names
            for look in looks:
                assert [(g.name, g.status) for g in look.guardrails] == [
                    (name, "NOT_ENOUGH_DATA") for name in names
                ]
            assert looks[-1].reason == (
                f"requests per arm: champion {counted[0]}, challenger {counted[1]}, "
                f"each needs {needed}; not enough data for {', '.join(names)}"
            )
            pointer = await stage.cm.pointer()
            assert (pointer.serving_version, pointer.rollout.rollout_id) == (
                champion.version_id,
                record.rollout_id,
            )
            assert (pointer.rollout.stage, pointer.rollout.share) == (0, SHARE)
            actions = {e.action for e in await stage.cm.audit_entries()}
            assert actions.isdisjoint({"rollout_advance", "rollout_rolled_back", "rollout_stopped"})

    asyncio.run(main())


def test_a_forced_sample_ratio_mismatch_stops_the_stage(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """Traffic only from users outside the 50 % stage's share (their buckets computed with
    the rollout's cohorts): the challenger arm has no user while the plan expects half,
    so the control plane stops the stage by itself (status STOPPED, the last look the
    stop with its p-value), the audit entry rollout_stopped carries the p-value and
    both arms' distinct users, and the front answers everyone with the champion."""
    champion, challenger = serving_versions.baseline, serving_versions.xgboost
    plan = _plan(hold_seconds=600.0, min_requests=30, guardrails=(_errors(),))

    async def main() -> None:
        async with _first_stage(etcd_server, serving_versions, tmp_path, challenger, plan) as stage:
            front = stage.front
            outside = stage.in_arm(CHAMPION)
            await front.until_answered(outside[0], CHAMPION, champion.version_id)
            shown = await stage.until_ended(outside)

            last = _ended(shown, records_pb2.ROLLOUT_STATUS_STOPPED, "stop")
            assert last.reason.startswith("sample-ratio mismatch")
            assert last.srm_mismatch
            assert last.srm_p_value < 0.001
            assert (last.challenger.requests, last.challenger.users) == (0, 0)
            assert 0 < last.champion.users <= len(outside)
            # Until the front followed the stop, the stage's arm; then none.
            assert {r.arm for _, r, _ in front.answers.sent} <= {CHAMPION, ""}
            assert {r.serving_version for _, r, _ in front.answers.sent} == {champion.version_id}
            pointer = await stage.cm.pointer()
            assert not pointer.HasField("rollout")
            assert pointer.serving_version == champion.version_id
            entry = await stage.audit("rollout_stopped")
            assert entry.details["srm_p_value"] == f"{last.srm_p_value:.3g}"
            assert float(entry.details["srm_p_value"]) < float(entry.details["srm_alpha"])
            assert entry.details["challenger_counts"].endswith(" users=0")
            assert entry.details["champion_counts"].endswith(f" users={last.champion.users}")
            await _everyone_answered_by(front, champion, stage.in_arm(CHALLENGER)[0])

    asyncio.run(main())


def test_a_healthy_challenger_completes_and_serves_everyone(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """A small XGBoost challenger at 50 % against the baseline, held 2 s with 30 requests
    per arm and no error: the control plane completes the rollout by itself (the last
    look "complete", audit promote staged), the pointer names the challenger alone and
    the front answers everyone with it."""
    challenger = serving_versions.xgboost
    plan = _plan(hold_seconds=2.0, min_requests=30, guardrails=(_errors(),))

    async def main() -> None:
        async with _first_stage(etcd_server, serving_versions, tmp_path, challenger, plan) as stage:
            await stage.front.until_answered(
                stage.in_arm(CHALLENGER)[0], CHALLENGER, challenger.version_id
            )
            shown = await stage.until_ended(USERS)

            last = _ended(shown, records_pb2.ROLLOUT_STATUS_COMPLETED, "complete")
            assert min(last.champion.requests, last.challenger.requests) >= 30
            assert last.held_seconds >= plan.hold_seconds
            pointer = await stage.cm.pointer()
            assert not pointer.HasField("rollout")
            assert pointer.serving_version == challenger.version_id
            entry = await stage.audit("promote")
            assert (entry.details["staged"], entry.details["to"]) == (
                "true",
                challenger.version_id,
            )
            await _everyone_answered_by(stage.front, challenger, stage.in_arm(CHAMPION)[0])

    asyncio.run(main())
