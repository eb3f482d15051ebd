"""Shadow scoring on the real mesh: it never changes an answer, every shadowed request
leaves a champion/challenger pair in the impression log, and it is shed before any
answer degrades (services/recommend/shadow.py)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc

from offline.shadow.log_reader import read_shadow_log
from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.bundle.writer import WrittenBundle
from recmesh.etcd.local_server import LocalEtcd
from recmesh.telemetry.metrics import ServerMetrics
from services.recommend.shadow_policy import BUSY, CPU_BUDGET, ShadowPolicy
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import running_mesh
from tests.services.downstream_fakes import Context, fake_candidates
from tests.services.mesh_calls import recommend, wait_for_version
from tests.services.rollout_mesh import (
    ejections,
    impression_lines,
    own_front,
    rollout,
    shadow_metric,
    wait_for,
    write_rollout_pointer,
)

USERS = [str(u) for u in range(1, 31)]
Answer = tuple[str, tuple[tuple[int, float], ...], bool]


def _answer(response: recommend_pb2.RecommendResponse) -> Answer:
    """What a user sees: the version, the items with their scores, degraded or not."""
    return (
        response.serving_version,
        tuple((item.item_id, item.score) for item in response.items),
        response.degraded,
    )


async def _responses(front: str, users: list[str]) -> dict[str, recommend_pb2.RecommendResponse]:
    return {user: await recommend(front, user) for user in users}


async def _answers(front: str, users: list[str]) -> dict[str, Answer]:
    return {user: _answer(r) for user, r in (await _responses(front, users)).items()}


async def _timed(front: str, users: list[str], latencies: list[float]) -> dict[str, Answer]:
    """The users' answers one after another, each one's latency appended."""
    answers: dict[str, Answer] = {}
    for user in users:
        started = time.perf_counter()
        answers[user] = _answer(await recommend(front, user))
        latencies.append(time.perf_counter() - started)
    return answers


def test_shadow_scoring_never_changes_an_answer_and_logs_both_lists(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """With a 100 % shadow share, the same users get the same items, scores and version
    as without a rollout; each of their requests has a champion record and a challenger
    record (the baseline's list, which differs) with the same request id."""
    champion, challenger = serving_versions.xgboost, serving_versions.baseline
    impressions = tmp_path / "front.jsonl"

    async def main() -> None:
        await write_rollout_pointer(etcd_server, champion, None)
        async with (
            running_mesh(etcd_server, serving_versions.store_dir, tmp_path / "m.jsonl") as mesh,
            own_front(etcd_server, serving_versions, mesh, impressions) as (front, metrics),
        ):
            address = f"127.0.0.1:{front.port}"
            before = await _start_shadowing(etcd_server, address, metrics, champion, challenger)
            responses = await _responses(address, USERS)
            assert {user: _answer(r) for user, r in responses.items()} == before
            requests = {r.request_id for r in responses.values()}
            await wait_for(lambda: _challengers(impressions) >= requests)
        paired = read_shadow_log(impressions)
        pairs = [p for p in paired.pairs if p.request_id in requests]
        assert len(pairs) == len(USERS)
        assert {p.champion.user_id for p in pairs} == set(USERS)
        assert all(p.champion.serving_version == champion.version_id for p in pairs)
        assert all(p.challenger.serving_version == challenger.version_id for p in pairs)
        assert all(p.answered for p in pairs)
        assert any(p.champion.item_ids(10) != p.challenger.item_ids(10) for p in pairs)
        for pair in pairs:
            assert pair.champion.item_ids(10) == [i for i, _ in before[pair.champion.user_id][1]]

    asyncio.run(main())


def test_under_overload_shadow_work_is_shed_before_any_answer_degrades(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """Candidates serves two calls at a time, 20 ms each, and six callers keep the
    front's champion requests in flight far above the busy threshold (a quarter of
    eight): the shadows are shed as busy and no answer degrades or changes. The control,
    the same load with the busy check off, runs the shadows (their candidates calls
    queue beside the champion's; the latency this costs is printed, not asserted). With
    a CPU budget of 0 every shadow is shed."""
    champion, challenger = serving_versions.xgboost, serving_versions.baseline
    shed_when_busy = ShadowPolicy(cpu_budget=64.0, max_in_flight=64, busy_fraction=0.25)
    never_busy = ShadowPolicy(cpu_budget=64.0, max_in_flight=64, busy_fraction=1.0)
    rounds, callers = 4, 6

    async def main() -> None:
        await write_rollout_pointer(etcd_server, champion, None)
        async with running_mesh(
            etcd_server, serving_versions.store_dir, tmp_path / "m.jsonl"
        ) as mesh:
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{mesh.candidates.port}")
            real = candidates_pb2_grpc.CandidatesServiceStub(channel)
            capacity = asyncio.Semaphore(2)

            async def slow_candidates(
                request: candidates_pb2.GetCandidatesRequest, context: Context
            ) -> candidates_pb2.GetCandidatesResponse:
                async with capacity:
                    await asyncio.sleep(0.02)
                    return await real.GetCandidates(request, timeout=context.time_remaining())

            async def under_load(
                policy: ShadowPolicy, log: str
            ) -> tuple[float, ServerMetrics, int, dict[str, Answer]]:
                """The mean latency of the champion's answers under the callers' load,
                the front's metrics, how many requests it answered and the answers."""
                async with own_front(
                    etcd_server,
                    serving_versions,
                    mesh,
                    tmp_path / log,
                    shadow=policy,
                    max_in_flight=8,
                    candidates_address=candidates_at,
                ) as (front, metrics):
                    address = f"127.0.0.1:{front.port}"
                    before = await _start_shadowing(
                        etcd_server, address, metrics, champion, challenger
                    )
                    latencies: list[float] = []
                    for _ in range(rounds):
                        answered = await asyncio.gather(
                            *(_timed(address, USERS[i::callers], latencies) for i in range(callers))
                        )
                        during = {user: a for answers in answered for user, a in answers.items()}
                        assert during == before
                    return sum(latencies) / len(latencies), metrics, len(latencies), before

            async with channel, fake_candidates(slow_candidates) as candidates_at:
                shed = await under_load(shed_when_busy, "busy.jsonl")
                control = await under_load(never_busy, "control.jsonl")
            async with own_front(
                etcd_server,
                serving_versions,
                mesh,
                tmp_path / "cpu.jsonl",
                shadow=ShadowPolicy(cpu_budget=0.0),
            ) as (front, metrics):
                address = f"127.0.0.1:{front.port}"
                await wait_for_version(address, champion.version_id)
                assert await _answers(address, USERS) == shed[3]
                assert shadow_metric(metrics, "shed", "reason", CPU_BUDGET) >= len(USERS)
                assert shadow_metric(metrics, "ran", "outcome", "ok") == 0
                assert shadow_metric(metrics, "ran", "outcome", "error") == 0
        unshadowed = impression_lines(tmp_path / "cpu.jsonl")
        assert unshadowed
        assert all("arm" not in line for line in unshadowed)
        shed_mean, shed_metrics, requests, _ = shed
        control_mean, control_metrics, _, _ = control
        busy = shadow_metric(shed_metrics, "shed", "reason", BUSY)
        # Only the tail of each round (fewer callers left than the threshold) may shadow.
        assert busy >= requests * 0.75
        assert shadow_metric(shed_metrics, "ran", "outcome", "error") == 0
        assert shadow_metric(control_metrics, "shed", "reason", BUSY) == 0
        assert shadow_metric(control_metrics, "ran", "outcome", "ok") >= requests * 0.75
        # What the shedding saves in latency is measured, not asserted (tests never
        # assert on wall-clock time; this one failed a 1.3x bound at 1.25x on a loaded
        # machine): about 74 ms with shedding against 125 ms without here, and
        # bench/shadow_cost.py measures the champion's p99 with and without a shadow.
        print(f"champion mean {shed_mean * 1000:.0f} ms shedding, {control_mean * 1000:.0f} ms not")

    asyncio.run(main())


def test_a_failing_challenger_is_logged_as_an_error_and_never_touches_an_answer(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """Candidates refuses every call for the challenger: each shadow is logged with
    error, degraded and no items, the shadow's own breaker opens, and the champion's
    answers (same downstream address, own breaker) stay whole and unchanged."""
    champion, challenger = serving_versions.xgboost, serving_versions.baseline
    impressions = tmp_path / "front.jsonl"

    async def main() -> None:
        await write_rollout_pointer(etcd_server, champion, None)
        async with running_mesh(
            etcd_server, serving_versions.store_dir, tmp_path / "m.jsonl"
        ) as mesh:
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{mesh.candidates.port}")
            real = candidates_pb2_grpc.CandidatesServiceStub(channel)

            async def refuse_challenger(
                request: candidates_pb2.GetCandidatesRequest, context: Context
            ) -> candidates_pb2.GetCandidatesResponse:
                if request.serving_version == challenger.version_id:
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "challenger refused")
                return await real.GetCandidates(request, timeout=context.time_remaining())

            async with (
                channel,
                fake_candidates(refuse_challenger) as candidates_at,
                own_front(
                    etcd_server,
                    serving_versions,
                    mesh,
                    impressions,
                    candidates_address=candidates_at,
                ) as (front, metrics),
            ):
                address = f"127.0.0.1:{front.port}"
                before = await _start_shadowing(
                    etcd_server, address, metrics, champion, challenger, outcome="error"
                )
                responses = await _responses(address, USERS)
                assert {user: _answer(r) for user, r in responses.items()} == before
                requests = {r.request_id for r in responses.values()}
                await wait_for(lambda: _challengers(impressions) >= requests)
                open_of = metrics.registry.get_sample_value
                assert (
                    open_of(
                        "recmesh_downstream_open",
                        {"component": "recommend", "service": "candidates"},
                    )
                    == 0.0
                )
                assert ejections(metrics, "candidates-shadow") >= 1
                assert ejections(metrics, "candidates") == 0
        records = [
            r
            for r in impression_lines(impressions)
            if r.get("arm") == "challenger" and r["request_id"] in requests
        ]
        assert len(records) == len(USERS)
        assert all(r["error"] and r["degraded"] and r["items"] == [] for r in records)
        assert shadow_metric(metrics, "ran", "outcome", "ok") == 0

    asyncio.run(main())


async def _start_shadowing(
    etcd: LocalEtcd,
    address: str,
    metrics: ServerMetrics,
    champion: WrittenBundle,
    challenger: WrittenBundle,
    outcome: str = "ok",
) -> dict[str, Answer]:
    """The users' answers without a rollout; then a record shadowing every user with
    the challenger, followed until one shadow ran with `outcome` (the challenger is
    loaded)."""
    await wait_for_version(address, champion.version_id)
    before = await _answers(address, USERS)
    plan = rollout(challenger, records_pb2.ROLLOUT_MODE_SHADOW, 1.0)
    await write_rollout_pointer(etcd, champion, plan)
    deadline = asyncio.get_running_loop().time() + 30.0
    while shadow_metric(metrics, "ran", "outcome", outcome) == 0:
        assert asyncio.get_running_loop().time() < deadline, "no shadow ever ran"
        await recommend(address, "1")
        await asyncio.sleep(0.1)
    return before


def _challengers(path: Path) -> set[str]:
    """The request ids of the log's challenger records."""
    return {r["request_id"] for r in impression_lines(path) if r.get("arm") == "challenger"}
