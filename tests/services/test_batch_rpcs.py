"""The batch RPCs (GetCandidatesBatch, GetFeaturesBatch, RankBatch) on the real mesh: real
etcd, the real servers on loopback, the trained XGBoost version and the baseline.

Each item is answered alone and as its unary call would answer it: a bad item gets
the unary call's status in its slot while the others answer whole; an item whose own
deadline has passed gets DEADLINE_EXCEEDED alone; items of two serving versions are
each computed against their own version; a RankBatch ranks exactly as Rank does one
by one; and each item's server spans join that item's own trace.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import grpc
import numpy as np
import pytest
from google.rpc.error_details_pb2 import ErrorInfo
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.common.v1 import arrays_pb2, batch_pb2
from recmesh.api.features.v1 import features_pb2, features_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.etcd.local_server import LocalEtcd
from recmesh.rpc.errors import InvalidArgumentError, UnavailableError
from recmesh.wire.arrays import decode_float32, decode_int64, decode_matrix
from recmesh.wire.rank_errors import DOMAIN, FEATURES_UNAVAILABLE
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import RunningMesh, write_pointer
from tests.services.downstream_fakes import (
    Context,
    FakeFeatures,
    fake_server,
    real_candidates,
    real_features,
    real_ranking,
    serving,
    wait_ready,
)
from tests.services.mesh_calls import run_mesh, wait_for_version

USERS = ("196", "186", "22", "no-such-user", "244")
OK = grpc.StatusCode.OK.value[0]
INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT.value[0]
DEADLINE_EXCEEDED = grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION.value[0]
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE.value[0]
NOBODYS_VERSION = "sv-00000000000000ff"

GET_CANDIDATES = "/recmesh.candidates.v1.CandidatesService/GetCandidates"
GET_FEATURES = "/recmesh.features.v1.FeaturesService/GetFeatures"
RANK = "/recmesh.ranking.v1.RankingService/Rank"


def _context(
    remaining_us: int = 0, carrier: dict[str, str] | None = None
) -> batch_pb2.BatchItemContext:
    return batch_pb2.BatchItemContext(trace_context=carrier or {}, remaining_us=remaining_us)


class _Stubs:
    def __init__(self, mesh: RunningMesh) -> None:
        self._channels = [
            grpc.aio.insecure_channel(f"127.0.0.1:{handle.port}")
            for handle in (mesh.candidates, mesh.features, mesh.ranking)
        ]
        self.candidates = candidates_pb2_grpc.CandidatesServiceStub(self._channels[0])
        self.features = features_pb2_grpc.FeaturesServiceStub(self._channels[1])
        self.ranking = ranking_pb2_grpc.RankingServiceStub(self._channels[2])

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close(None)

    async def candidate_set(self, user: str, version: str, n: int = 200) -> arrays_pb2.CandidateSet:
        response = await self.candidates.GetCandidates(
            candidates_pb2.GetCandidatesRequest(
                user_id=user, serving_version=version, max_candidates=n
            ),
            timeout=5,
        )
        return response.candidates

    async def unary_failure(self, call: object, request: object) -> grpc.aio.AioRpcError:
        try:
            await call(request, timeout=5)  # type: ignore[operator]
        except grpc.aio.AioRpcError as exc:
            return exc
        raise AssertionError("the unary call did not fail")


async def _check_bad_and_expired_items(stubs: _Stubs, version: str) -> None:
    """One bad item and one expired item fail alone, with the unary call's status."""
    good = [candidates_pb2.GetCandidatesRequest(user_id=u, serving_version=version) for u in USERS]
    bad = candidates_pb2.GetCandidatesRequest(user_id="", serving_version=version)
    expired = candidates_pb2.GetCandidatesRequest(user_id="196", serving_version=version)
    items = [
        candidates_pb2.GetCandidatesBatchItem(request=good[0], context=_context()),
        candidates_pb2.GetCandidatesBatchItem(request=bad, context=_context()),
        candidates_pb2.GetCandidatesBatchItem(request=good[1], context=_context(5_000_000)),
        candidates_pb2.GetCandidatesBatchItem(request=expired, context=_context(1)),
        candidates_pb2.GetCandidatesBatchItem(request=good[2], context=_context()),
    ]
    reply = await stubs.candidates.GetCandidatesBatch(
        candidates_pb2.GetCandidatesBatchRequest(items=items), timeout=5
    )
    codes = [r.status.code for r in reply.results]
    assert codes == [OK, INVALID_ARGUMENT, OK, DEADLINE_EXCEEDED, OK]
    unary_bad = await stubs.unary_failure(stubs.candidates.GetCandidates, bad)
    assert unary_bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reply.results[1].status.message == unary_bad.details()
    assert not reply.results[1].HasField("response")
    for position, request in ((0, good[0]), (2, good[1]), (4, good[2])):
        unary = await stubs.candidates.GetCandidates(request, timeout=5)
        assert reply.results[position].response == unary

    sets = [await stubs.candidate_set(u, version) for u in USERS[:3]]
    f_good = [
        features_pb2.GetFeaturesRequest(user_id=u, serving_version=version, candidates=s)
        for u, s in zip(USERS, sets, strict=False)
    ]
    broken = arrays_pb2.CandidateSet()
    broken.CopyFrom(sets[0])
    broken.item_ids.length += 1  # the bytes no longer hold the declared length
    f_bad = features_pb2.GetFeaturesRequest(
        user_id="196", serving_version=version, candidates=broken
    )
    f_items = [
        features_pb2.GetFeaturesBatchItem(request=f_good[0], context=_context()),
        features_pb2.GetFeaturesBatchItem(request=f_bad, context=_context()),
        features_pb2.GetFeaturesBatchItem(request=f_good[1], context=_context(1)),
        features_pb2.GetFeaturesBatchItem(request=f_good[2], context=_context()),
    ]
    f_reply = await stubs.features.GetFeaturesBatch(
        features_pb2.GetFeaturesBatchRequest(items=f_items), timeout=5
    )
    assert [r.status.code for r in f_reply.results] == [OK, INVALID_ARGUMENT, DEADLINE_EXCEEDED, OK]
    unary_bad = await stubs.unary_failure(stubs.features.GetFeatures, f_bad)
    assert f_reply.results[1].status.message == unary_bad.details()
    for position, f_request in ((0, f_good[0]), (3, f_good[2])):
        unary_f = await stubs.features.GetFeatures(f_request, timeout=5)
        got = f_reply.results[position].response
        assert got.serving_version == unary_f.serving_version
        assert got.schema_fingerprint == unary_f.schema_fingerprint
        np.testing.assert_array_equal(
            decode_matrix(got.features, "batch"), decode_matrix(unary_f.features, "unary")
        )

    r_good = [
        ranking_pb2.RankRequest(user_id=u, serving_version=version, candidates=s, k=10)
        for u, s in zip(USERS, sets, strict=False)
    ]
    r_bad = ranking_pb2.RankRequest(user_id="196", serving_version=version, candidates=sets[0], k=0)
    r_items = [
        ranking_pb2.RankBatchItem(request=r_good[0], context=_context()),
        ranking_pb2.RankBatchItem(request=r_good[1], context=_context(1)),
        ranking_pb2.RankBatchItem(request=r_bad, context=_context()),
        ranking_pb2.RankBatchItem(request=r_good[2], context=_context(5_000_000)),
    ]
    r_reply = await stubs.ranking.RankBatch(ranking_pb2.RankBatchRequest(items=r_items), timeout=5)
    assert [r.status.code for r in r_reply.results] == [OK, DEADLINE_EXCEEDED, INVALID_ARGUMENT, OK]
    unary_bad = await stubs.unary_failure(stubs.ranking.Rank, r_bad)
    assert r_reply.results[2].status.message == unary_bad.details()
    for position, r_request in ((0, r_good[0]), (3, r_good[2])):
        assert r_reply.results[position].response == await stubs.ranking.Rank(r_request, timeout=5)


async def _check_two_versions(stubs: _Stubs, baseline: str, xgboost: str) -> None:
    """Items naming two held versions are each answered from their own version; an item
    naming a version nobody points at gets the unary call's refusal alone."""
    versions = [xgboost, baseline, xgboost, baseline]
    requests = [
        candidates_pb2.GetCandidatesRequest(user_id=u, serving_version=v)
        for u, v in zip(USERS, versions, strict=False)
    ]
    nobody = candidates_pb2.GetCandidatesRequest(user_id="196", serving_version=NOBODYS_VERSION)
    reply = await stubs.candidates.GetCandidatesBatch(
        candidates_pb2.GetCandidatesBatchRequest(
            items=[
                candidates_pb2.GetCandidatesBatchItem(request=r, context=_context())
                for r in (*requests, nobody)
            ]
        ),
        timeout=5,
    )
    unary_nobody = await stubs.unary_failure(stubs.candidates.GetCandidates, nobody)
    assert unary_nobody.code() in (
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.UNAVAILABLE,
    )
    assert reply.results[-1].status.code == unary_nobody.code().value[0]
    assert reply.results[-1].status.message == unary_nobody.details()
    for result, request in zip(reply.results, requests, strict=False):
        assert result.status.code == OK
        assert result.response.serving_version == request.serving_version
        assert result.response == await stubs.candidates.GetCandidates(request, timeout=5)

    sets = [r.response.candidates for r in reply.results[:4]]
    f_reply = await stubs.features.GetFeaturesBatch(
        features_pb2.GetFeaturesBatchRequest(
            items=[
                features_pb2.GetFeaturesBatchItem(
                    request=features_pb2.GetFeaturesRequest(
                        user_id=r.user_id, serving_version=r.serving_version, candidates=s
                    ),
                    context=_context(),
                )
                for r, s in zip(requests, sets, strict=True)
            ]
        ),
        timeout=5,
    )
    for f_result, request in zip(f_reply.results, requests, strict=True):
        assert f_result.status.code == OK
        assert f_result.response.serving_version == request.serving_version

    ranks = [
        ranking_pb2.RankRequest(
            user_id=r.user_id, serving_version=r.serving_version, candidates=s, k=10
        )
        for r, s in zip(requests, sets, strict=True)
    ]
    r_reply = await stubs.ranking.RankBatch(
        ranking_pb2.RankBatchRequest(
            items=[ranking_pb2.RankBatchItem(request=r, context=_context()) for r in ranks]
        ),
        timeout=5,
    )
    scorers = [r.response.scorer for r in r_reply.results]
    assert scorers == ["xgboost", "source-order", "xgboost", "source-order"]
    for r_result, rank in zip(r_reply.results, ranks, strict=True):
        assert r_result.response.serving_version == rank.serving_version
        assert r_result.response == await stubs.ranking.Rank(rank, timeout=5)


async def _check_rank_batch_equals_rank(stubs: _Stubs, version: str) -> None:
    """RankBatch's scores and order are Rank's, request by request."""
    users = ("196", "186", "22", "244", "166", "298", "115", "253", "no-such-user")
    sets = [
        await stubs.candidate_set(u, version, n)
        for u, n in zip(users, (500, 100, 7, 300, 1, 50, 500, 20, 80), strict=True)
    ]
    ranks = [
        ranking_pb2.RankRequest(user_id=u, serving_version=version, candidates=s, k=k)
        for u, s, k in zip(users, sets, (10, 5, 20, 1000, 3, 10, 50, 10, 10), strict=True)
    ]
    reply = await stubs.ranking.RankBatch(
        ranking_pb2.RankBatchRequest(
            items=[ranking_pb2.RankBatchItem(request=r, context=_context()) for r in ranks]
        ),
        timeout=5,
    )
    assert len(reply.results) == len(ranks)
    for result, request in zip(reply.results, ranks, strict=True):
        assert result.status.code == OK
        one = await stubs.ranking.Rank(request, timeout=5)
        got = result.response
        assert got.scorer == one.scorer == "xgboost"
        np.testing.assert_array_equal(
            decode_int64(got.item_ids, "batch"), decode_int64(one.item_ids, "unary")
        )
        np.testing.assert_array_equal(
            decode_int64(got.candidate_positions, "batch"),
            decode_int64(one.candidate_positions, "unary"),
        )
        np.testing.assert_array_equal(
            decode_float32(got.scores, "batch"), decode_float32(one.scores, "unary")
        )


async def _check_traces(mesh: RunningMesh, stubs: _Stubs, version: str) -> None:
    """Each item's server spans (ranking's Rank and, through ranking's one
    GetFeaturesBatch, features' GetFeatures; candidates' GetCandidates) are in that item's
    own trace, children of the caller's span that sent the item."""
    tracer = TracerProvider().get_tracer("test")
    sets = [await stubs.candidate_set(u, version) for u in USERS[:3]]
    callers = [tracer.start_span(f"caller-{u}") for u in USERS[:3]]
    carriers = []
    for span in callers:
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        carriers.append(carrier)
    mesh.spans.clear()
    await stubs.ranking.RankBatch(
        ranking_pb2.RankBatchRequest(
            items=[
                ranking_pb2.RankBatchItem(
                    request=ranking_pb2.RankRequest(
                        user_id=u, serving_version=version, candidates=s, k=10
                    ),
                    context=_context(carrier=c),
                )
                for u, s, c in zip(USERS, sets, carriers, strict=False)
            ]
        ),
        timeout=5,
    )
    await stubs.candidates.GetCandidatesBatch(
        candidates_pb2.GetCandidatesBatchRequest(
            items=[
                candidates_pb2.GetCandidatesBatchItem(
                    request=candidates_pb2.GetCandidatesRequest(user_id=u, serving_version=version),
                    context=_context(carrier=c),
                )
                for u, c in zip(USERS, carriers, strict=False)
            ]
        ),
        timeout=5,
    )
    await asyncio.sleep(0.2)
    finished = mesh.spans.get_finished_spans()
    for caller in callers:
        context = caller.get_span_context()
        mine = [
            s for s in finished if s.context is not None and s.context.trace_id == context.trace_id
        ]
        by_name: dict[tuple[str, str], list[ReadableSpan]] = {}
        for finished_span in mine:
            by_name.setdefault(
                (str(finished_span.resource.attributes["service.name"]), finished_span.name), []
            ).append(finished_span)
        rank = by_name[("recmesh-ranking", RANK)]
        assert len(rank) == 1
        assert rank[0].parent is not None
        assert rank[0].parent.span_id == context.span_id
        features = by_name[("recmesh-features", GET_FEATURES)]
        assert len(features) == 1
        assert features[0].parent is not None
        assert features[0].parent.span_id == rank[0].context.span_id
        candidates = by_name[("recmesh-candidates", GET_CANDIDATES)]
        assert len(candidates) == 1
        assert candidates[0].parent is not None
        assert candidates[0].parent.span_id == context.span_id
    # The shared work (one features call, one scoring) links every item's span.
    linked = [s for s in finished if s.name == "ranking.features_batch"]
    assert len(linked) == 1
    assert {link.context.trace_id for link in linked[0].links} == {
        c.get_span_context().trace_id for c in callers
    }


async def _check_features_failure(mesh: RunningMesh, stubs: _Stubs, version: str) -> None:
    """With features gone, every RankBatch item that needs the model answers UNAVAILABLE
    with ranking's features ErrorInfo, as Rank does; a source-order item still answers."""
    s = await stubs.candidate_set("196", version)
    request = ranking_pb2.RankRequest(user_id="196", serving_version=version, candidates=s, k=5)
    await mesh.features.stop(0)
    reply = await stubs.ranking.RankBatch(
        ranking_pb2.RankBatchRequest(
            items=[ranking_pb2.RankBatchItem(request=request, context=_context())] * 2
        ),
        timeout=5,
    )
    unary = await stubs.unary_failure(stubs.ranking.Rank, request)
    assert unary.code() == grpc.StatusCode.UNAVAILABLE
    for result in reply.results:
        assert result.status.code == UNAVAILABLE
        assert result.status.message.startswith("features unavailable: ")
        (detail,) = result.status.details
        info = ErrorInfo()
        assert detail.Unpack(info)
        assert (info.domain, info.reason) == (DOMAIN, FEATURES_UNAVAILABLE)


def test_batch_rpcs_answer_each_item_as_its_unary_call(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    baseline = serving_versions.baseline.version_id
    xgboost = serving_versions.xgboost

    async def scenario(mesh: RunningMesh) -> None:
        # Baseline first, then the XGBoost version: every service holds both.
        await write_pointer(etcd_server, xgboost.version_id, xgboost.manifest_sha256)
        await wait_for_version(mesh.front, xgboost.version_id)
        stubs = _Stubs(mesh)
        try:
            await _check_bad_and_expired_items(stubs, xgboost.version_id)
            await _check_two_versions(stubs, baseline, xgboost.version_id)
            await _check_rank_batch_equals_rank(stubs, xgboost.version_id)
            await _check_traces(mesh, stubs, xgboost.version_id)
            await _check_features_failure(mesh, stubs, xgboost.version_id)
        finally:
            await stubs.close()

    run_mesh(etcd_server, serving_versions, tmp_path, "baseline", scenario)


def test_rank_batch_answers_a_features_failure_in_its_items_slot(
    etcd_server: LocalEtcd, serving_versions: ServingVersions
) -> None:
    """Behind ranking, a features server that answers some items of the GetFeaturesBatch
    with a failure (UNAVAILABLE, INVALID_ARGUMENT) or a malformed matrix and passes the
    others to the real features: each failed item gets what Rank answers for it
    (UNAVAILABLE with the features ErrorInfo, or INVALID_ARGUMENT), the others answer
    whole, and features saw one GetFeaturesBatch call for the whole RankBatch."""
    xgboost = serving_versions.xgboost
    version = xgboost.version_id
    store = serving_versions.store_dir
    seen_batches: list[int] = []

    async def scenario() -> None:
        await write_pointer(etcd_server, version, xgboost.manifest_sha256)
        async with AsyncExitStack() as stack:
            real_at = await stack.enter_async_context(
                serving(await real_features(etcd_server, store))
            )
            candidates_at = await stack.enter_async_context(
                serving(await real_candidates(etcd_server, store))
            )
            channel = await stack.enter_async_context(grpc.aio.insecure_channel(real_at))
            real = features_pb2_grpc.FeaturesServiceStub(channel)

            async def features(
                request: features_pb2.GetFeaturesRequest, _: Context
            ) -> features_pb2.GetFeaturesResponse:
                if request.user_id == "22":
                    raise UnavailableError("features lost this user's shard")
                if request.user_id == "186":
                    raise InvalidArgumentError("a candidate item is not in the catalogue")
                reply = await real.GetFeatures(request, timeout=5)
                if request.user_id == "244":
                    reply.features.data = reply.features.data[:-3]
                return reply

            fake = FakeFeatures(features)
            original = fake.GetFeaturesBatch

            async def counting(
                request: features_pb2.GetFeaturesBatchRequest, context: Context
            ) -> features_pb2.GetFeaturesBatchResponse:
                seen_batches.append(len(request.items))
                return await original(request, context)

            fake.GetFeaturesBatch = counting  # type: ignore[method-assign]
            fake_at = await stack.enter_async_context(
                fake_server(
                    lambda s: features_pb2_grpc.add_FeaturesServiceServicer_to_server(fake, s)
                )
            )
            ranking_at = await stack.enter_async_context(
                serving(await real_ranking(etcd_server, store, fake_at))
            )
            await wait_ready(real_at, candidates_at, ranking_at)
            ranking_channel = await stack.enter_async_context(grpc.aio.insecure_channel(ranking_at))
            ranking = ranking_pb2_grpc.RankingServiceStub(ranking_channel)
            candidates_channel = await stack.enter_async_context(
                grpc.aio.insecure_channel(candidates_at)
            )
            candidates = candidates_pb2_grpc.CandidatesServiceStub(candidates_channel)
            users = ("196", "22", "186", "244", "6")
            ranks = []
            for user in users:
                found = await candidates.GetCandidates(
                    candidates_pb2.GetCandidatesRequest(user_id=user, serving_version=version),
                    timeout=5,
                )
                ranks.append(
                    ranking_pb2.RankRequest(
                        user_id=user, serving_version=version, candidates=found.candidates, k=10
                    )
                )
            reply = await ranking.RankBatch(
                ranking_pb2.RankBatchRequest(
                    items=[ranking_pb2.RankBatchItem(request=r, context=_context()) for r in ranks]
                ),
                timeout=5,
            )
            assert seen_batches == [len(users)]
            codes = [r.status.code for r in reply.results]
            assert codes == [OK, UNAVAILABLE, INVALID_ARGUMENT, UNAVAILABLE, OK]
            # What Rank answers when features fails its call that way.
            messages = reply.results[1].status.message, reply.results[2].status.message
            assert messages == (
                "features unavailable: UNAVAILABLE: features lost this user's shard",
                "features refused the candidates: a candidate item is not in the catalogue",
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await ranking.Rank(ranks[3], timeout=5)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert caught.value.details() == reply.results[3].status.message
            assert reply.results[3].status.message.startswith(
                "features unavailable: features sent a bad matrix"
            )
            for position in (1, 3):
                (detail,) = reply.results[position].status.details
                info = ErrorInfo()
                assert detail.Unpack(info)
                assert (info.domain, info.reason) == (DOMAIN, FEATURES_UNAVAILABLE)
            assert not reply.results[2].status.details
            for position in (0, 4):
                assert reply.results[position].response.scorer == "xgboost"

            # A batch whose every item fails against features (UNAVAILABLE without a
            # reason, a malformed matrix) still answers each item its own failure, and
            # counts as a failed call for the replica's breaker: with the unary Rank's
            # failure above, the third consecutive one ejects features.
            failing = ranking_pb2.RankBatchRequest(
                items=[
                    ranking_pb2.RankBatchItem(request=ranks[position], context=_context())
                    for position in (1, 3)
                ]
            )
            own = [reply.results[1].status.message, reply.results[3].status.message]
            answers = []
            for _ in range(3):
                before = len(seen_batches)
                failed = await ranking.RankBatch(failing, timeout=5)
                messages_now = [r.status.message for r in failed.results]
                assert all(r.status.code == UNAVAILABLE for r in failed.results)
                if messages_now == own:
                    answers.append("own")
                    assert len(seen_batches) == before + 1
                else:
                    assert all("every features replica is ejected" in m for m in messages_now)
                    assert len(seen_batches) == before  # never reached features
                    answers.append("ejected")
            assert answers == ["own", "own", "ejected"]

    asyncio.run(scenario())
