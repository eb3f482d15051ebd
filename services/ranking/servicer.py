"""The Rank RPC: features from the features service, XGBoost scores, top k.

Ranking asks the features service itself so the 500 x d feature matrix
never travels through the front. It gives features only part of its own
remaining time (`DeadlineReserve`), so that when features fails, is late,
is ejected or sends a malformed reply, ranking still answers in time:
UNAVAILABLE with the RANK_ERROR_REASON_FEATURES_UNAVAILABLE ErrorInfo, which
the front reports as its degraded reason.

RankBatch answers each item as Rank would, alone (its own ItemStatus): every item
is checked as Rank checks it, grouped by serving version, and the items that need
the model get their features in ONE GetFeaturesBatch call (each outgoing item
carrying its own trace context and deadline) and their scores in one
`RankingModel.score` call per model over all their rows, then top k per item. A
features failure of one item (or of the whole call) answers that item (or every
item) UNAVAILABLE with the features ErrorInfo, as Rank does.

A Rank the front marks as a shadow or a staged challenger call
(services/common/call_arms.py) scores off the event loop, in that arm's lane thread
(services/ranking/scoring_lanes.py); a shadow is shed while answering calls are in
flight, a challenger never is (it answers a user). A champion Rank scores on the loop
as always.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Any

import grpc
import numpy as np
from numpy.typing import NDArray
from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from recmesh.api.common.v1 import batch_pb2
from recmesh.api.features.v1 import features_pb2, features_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.core.ranking.model import RankingModel, top_k_positions
from recmesh.core.ranking.version import RankingVersion
from recmesh.rpc.errors import InvalidArgumentError, RecmeshError
from recmesh.wire.arrays import ArrayPayloadError, encode_float32, encode_int64
from recmesh.wire.candidate_codec import WireCandidates, decode_candidates
from recmesh.wire.ids import check_serving_version, check_user_id
from recmesh.wire.limits import MAX_K, MAX_MESSAGE_BYTES
from services.common.batch_items import (
    BatchItems,
    ItemSlot,
    computed_apart_on_failure,
    shared_span,
    version_groups,
)
from services.common.call_arms import CallArm, call_arm
from services.common.deadline_reserve import DeadlineReserve
from services.common.downstream import Downstream
from services.common.downstream_errors import (
    DownstreamCallError,
    DownstreamError,
    MalformedReplyError,
    parsed,
)
from services.common.versions import VersionRegistry
from services.ranking.errors import FeaturesUnavailableError
from services.ranking.features_client import FeaturesClient
from services.ranking.features_reply import (
    EveryItemFailedError,
    counts_against_replica,
    decode_features,
)
from services.ranking.scoring_lanes import ScoringLanes

SCORER_XGBOOST = "xgboost"
SCORER_SOURCE_ORDER = "source-order"
RANK = "/recmesh.ranking.v1.RankingService/Rank"

_Slot = ItemSlot[ranking_pb2.RankRequest, ranking_pb2.RankResponse]

#: The feature matrices one GetFeaturesBatch reply may carry: half the message limit,
#: so a reply with its framing stays well inside MAX_MESSAGE_BYTES.
FEATURES_BATCH_REPLY_BYTES = MAX_MESSAGE_BYTES // 2


def checked_candidates(request: ranking_pb2.RankRequest) -> WireCandidates:
    """The request's candidates after Rank's checks of the request; raises
    InvalidArgumentError as Rank answers."""
    check_user_id(request.user_id)
    check_serving_version(request.serving_version)
    if request.k < 1 or request.k > MAX_K:
        raise InvalidArgumentError(f"k must be between 1 and {MAX_K}, got {request.k}")
    try:
        return decode_candidates(request.candidates)
    except ArrayPayloadError as exc:
        raise InvalidArgumentError(str(exc)) from exc


def source_order(
    request: ranking_pb2.RankRequest, candidates: WireCandidates, k: int
) -> ranking_pb2.RankResponse:
    """The first k candidates in their order: the baseline's answer (no model)."""
    top = np.arange(k, dtype=np.int64)
    return ranking_pb2.RankResponse(
        serving_version=request.serving_version,
        item_ids=encode_int64(candidates.item_ids[top]),
        scores=encode_float32(candidates.source_scores[top]),
        candidate_positions=encode_int64(top),
        scorer=SCORER_SOURCE_ORDER,
    )


def ranked(
    request: ranking_pb2.RankRequest,
    candidates: WireCandidates,
    scores: NDArray[np.float32],
    k: int,
) -> ranking_pb2.RankResponse:
    positions = top_k_positions(scores, k)
    return ranking_pb2.RankResponse(
        serving_version=request.serving_version,
        item_ids=encode_int64(candidates.item_ids[positions]),
        scores=encode_float32(scores[positions]),
        candidate_positions=encode_int64(positions),
        scorer=SCORER_XGBOOST,
    )


@dataclass
class _ToScore:
    """An item of a RankBatch that needs the model: its features, then its scores."""

    slot: _Slot
    model: RankingModel
    candidates: WireCandidates
    k: int
    matrix: NDArray[np.float32] | None = None


_Scores = NDArray[np.float32]


def _matrix_of(entry: _ToScore) -> NDArray[np.float32]:
    if entry.matrix is None:
        raise ValueError("an item was scored before its features arrived")
    return entry.matrix


def _scores_of(
    model: RankingModel, entry_of: dict[int, _ToScore], slots: Sequence[_Slot]
) -> list[_Scores]:
    """Each slot's scores, from one score call over all their rows."""
    matrices = [_matrix_of(entry_of[slot.index]) for slot in slots]
    scores = model.score(np.concatenate(matrices) if len(matrices) > 1 else matrices[0])
    offsets = np.cumsum([0, *(m.shape[0] for m in matrices)]).tolist()
    return [scores[start:stop] for start, stop in pairwise(offsets)]


def reply_chunks(
    asked: Sequence[tuple[_ToScore, float]], budget_bytes: int
) -> list[list[tuple[_ToScore, float]]]:
    """`asked` in order, cut into runs whose feature matrices together fit in
    `budget_bytes` (an item larger than the budget goes alone)."""
    chunks: list[list[tuple[_ToScore, float]]] = []
    size = 0
    for entry, timeout in asked:
        item_bytes = len(entry.candidates) * len(entry.model.feature_names) * 4
        if not chunks or size + item_bytes > budget_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append((entry, timeout))
        size += item_bytes
    return chunks


def features_failure(code: int, message: str) -> RecmeshError:
    """What Rank answers when features answers an item with a failed status."""
    status = grpc.StatusCode.UNKNOWN
    for candidate in grpc.StatusCode:
        if candidate.value[0] == code:
            status = candidate
    if status == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgumentError(f"features refused the candidates: {message}")
    return FeaturesUnavailableError(f"features unavailable: {status.name}: {message}")


class RankingServicer(ranking_pb2_grpc.RankingServiceServicer):
    def __init__(
        self,
        versions: VersionRegistry[RankingVersion],
        features: Downstream[features_pb2_grpc.FeaturesServiceAsyncStub],
        reserve: DeadlineReserve,
        default_timeout_s: float = 0.5,
        tracer_provider: TracerProvider | None = None,
        features_client: FeaturesClient | None = None,
        lanes: ScoringLanes | None = None,
    ) -> None:
        """`lanes` count answering calls and run shadow and challenger scoring (lanes
        with the default shed threshold when not given)."""
        self._versions = versions
        self._lanes = lanes or ScoringLanes()
        self._features = features
        # Rank's own features call (RankBatch calls self._features itself).
        self._features_client = features_client or FeaturesClient(features)
        self._reserve = reserve
        self._default_timeout_s = default_timeout_s
        self._tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(
            "recmesh.ranking.batch"
        )

    async def Rank(
        self, request: ranking_pb2.RankRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ranking_pb2.RankResponse:
        arm = call_arm(context.invocation_metadata())
        if arm is CallArm.SHADOW:
            self._lanes.admit_shadow()
            return await self._rank(request, context, arm)
        with self._lanes.answering():
            return await self._rank(request, context, arm)

    async def _rank(
        self,
        request: ranking_pb2.RankRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        arm: CallArm,
    ) -> ranking_pb2.RankResponse:
        """A champion call scores on the loop; a shadow or challenger call in its lane,
        a shadow after checking again that no answering calls came meanwhile
        (services/ranking/scoring_lanes.py)."""
        candidates = checked_candidates(request)
        version = (await self._versions.get(request.serving_version)).value
        span = trace.get_current_span()
        span.set_attribute("recmesh.serving_version", request.serving_version)
        span.set_attribute("recmesh.candidates", len(candidates))
        k = min(request.k, len(candidates))
        if version.model is None or k == 0:
            return source_order(request, candidates, k)
        model = version.model
        remaining = context.time_remaining()
        matrix = await self._features_of(
            request,
            model,
            len(candidates),
            self._default_timeout_s if remaining is None else remaining,
        )
        if arm is CallArm.CHAMPION:
            return ranked(request, candidates, model.score(matrix), k)
        if arm is CallArm.SHADOW:
            self._lanes.admit_shadow()
        return ranked(request, candidates, await self._lanes.score(arm, model, matrix), k)

    async def RankBatch(
        self,
        request: ranking_pb2.RankBatchRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> ranking_pb2.RankBatchResponse:
        # Only the front's champion flow batches: every item is a champion call.
        with self._lanes.answering(len(request.items)):
            return await self._rank_batch(request, context)

    async def _rank_batch(
        self,
        request: ranking_pb2.RankBatchRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> ranking_pb2.RankBatchResponse:
        items: BatchItems[ranking_pb2.RankRequest, ranking_pb2.RankResponse] = BatchItems.open(
            self._tracer, RANK, [(item.request, item.context) for item in request.items]
        )
        try:
            decoded: dict[int, WireCandidates] = {}
            for slot in items.slots:
                try:
                    decoded[slot.index] = checked_candidates(slot.request)
                except RecmeshError as error:
                    slot.fail(error)
            groups = await version_groups(
                self._versions, items.pending(), lambda r: r.serving_version
            )
            to_score: list[_ToScore] = []
            for version_id, version, members in groups:
                for slot in items.expire(members):
                    candidates = decoded[slot.index]
                    slot.span.set_attribute("recmesh.serving_version", version_id)
                    slot.span.set_attribute("recmesh.candidates", len(candidates))
                    k = min(slot.request.k, len(candidates))
                    if version.model is None or k == 0:
                        slot.answer(source_order(slot.request, candidates, k))
                    else:
                        to_score.append(_ToScore(slot, version.model, candidates, k))
            if to_score:
                remaining = context.time_remaining()
                await self._features_batch(
                    items, to_score, self._default_timeout_s if remaining is None else remaining
                )
                self._score(to_score)
        except BaseException:
            items.abandon()
            raise
        return ranking_pb2.RankBatchResponse(
            results=[
                ranking_pb2.RankBatchResult(status=status, response=response)
                for status, response in items.finish()
            ]
        )

    async def _features_batch(
        self,
        items: BatchItems[ranking_pb2.RankRequest, ranking_pb2.RankResponse],
        to_score: list[_ToScore],
        remaining_s: float,
    ) -> None:
        """Every item's feature matrix (`matrix` set) from GetFeaturesBatch calls made
        at once, each within the reply size budget, or the item answered as Rank
        answers a features failure."""
        timeout = self._reserve.pass_down(remaining_s)
        if timeout <= 0:
            error = FeaturesUnavailableError(
                f"features unavailable: {remaining_s * 1000:.1f} ms left, none to pass down"
            )
            items.fail_all([entry.slot for entry in to_score], error)
            return
        now = time.monotonic()
        asked: list[tuple[_ToScore, float]] = []
        for entry in to_score:
            item_left = entry.slot.remaining_s(items.received, now)
            item_timeout = timeout if item_left is None else self._reserve.pass_down(item_left)
            if item_timeout <= 0:
                assert item_left is not None
                entry.slot.fail(
                    FeaturesUnavailableError(
                        f"features unavailable: {item_left * 1000:.1f} ms left, none to pass down"
                    )
                )
                continue
            asked.append((entry, min(item_timeout, timeout)))
        # Items with like deadlines share a call: sorted by the time each may pass down
        # before being cut to the reply budget.
        asked.sort(key=lambda pair: pair[1])
        async with asyncio.TaskGroup() as calls:
            for chunk in reply_chunks(asked, FEATURES_BATCH_REPLY_BYTES):
                calls.create_task(self._features_chunk(items, chunk))

    async def _features_chunk(
        self,
        items: BatchItems[ranking_pb2.RankRequest, ranking_pb2.RankResponse],
        chunk: Sequence[tuple[_ToScore, float]],
    ) -> None:
        """One GetFeaturesBatch call for `chunk`. Each item carries its own time to pass
        down (features answers an item whose time ran out DEADLINE_EXCEEDED, alone), and
        the call lasts as long as its longest item may, so no item loses time to
        another's shorter deadline. (The RankBatch reply cannot answer an urgent item
        before the others; sorting by deadline keeps a call's deadlines close.)"""
        asked = [entry for entry, _ in chunk]
        timeout = max(item_timeout for _, item_timeout in chunk)
        outgoing = [
            features_pb2.GetFeaturesBatchItem(
                request=features_pb2.GetFeaturesRequest(
                    user_id=entry.slot.request.user_id,
                    serving_version=entry.slot.request.serving_version,
                    candidates=entry.slot.request.candidates,
                ),
                context=batch_pb2.BatchItemContext(
                    trace_context=entry.slot.trace_carrier(),
                    remaining_us=max(1, int(item_timeout * 1e6)),
                ),
            )
            for entry, item_timeout in chunk
        ]
        slots = [entry.slot for entry in asked]
        expected = [
            (entry.slot.request.serving_version, entry.model, len(entry.candidates))
            for entry in asked
        ]
        with shared_span(self._tracer, "ranking.features_batch", slots):
            try:
                outcomes = await self._features.call(
                    partial(
                        _get_features_batch,
                        features_pb2.GetFeaturesBatchRequest(items=outgoing),
                        expected,
                    ),
                    timeout,
                )
            except EveryItemFailedError as exc:
                # The breaker counted the call; each item still gets its own answer.
                outcomes = exc.outcomes
            except DownstreamCallError as exc:
                whole: RecmeshError
                if exc.code == grpc.StatusCode.INVALID_ARGUMENT:
                    whole = InvalidArgumentError(f"features refused the candidates: {exc.details}")
                else:
                    whole = FeaturesUnavailableError(f"features unavailable: {exc}")
                items.fail_all(slots, whole)
                return
            except DownstreamError as exc:
                items.fail_all(slots, FeaturesUnavailableError(f"features unavailable: {exc}"))
                return
        for entry, outcome in zip(asked, outcomes, strict=True):
            if isinstance(outcome, RecmeshError):
                entry.slot.fail(outcome)
            elif isinstance(outcome, Exception):
                raise outcome
            else:
                entry.matrix = outcome

    def _score(self, to_score: Sequence[_ToScore]) -> None:
        """One score call per model over the rows of all its items, then top k each; an
        item whose rows break the shared call is scored alone and fails alone."""
        by_model: dict[int, list[_ToScore]] = {}
        for entry in to_score:
            if entry.matrix is not None and entry.slot.pending:
                by_model.setdefault(id(entry.model), []).append(entry)
        for entries in by_model.values():
            model = entries[0].model
            entry_of = {entry.slot.index: entry for entry in entries}
            with shared_span(
                self._tracer,
                "ranking.score_batch",
                [entry.slot for entry in entries],
                **{"recmesh.rows": sum(_matrix_of(entry).shape[0] for entry in entries)},
            ):
                answered = computed_apart_on_failure(
                    [entry.slot for entry in entries], partial(_scores_of, model, entry_of)
                )
            for slot, scores in answered:
                entry = entry_of[slot.index]
                slot.answer(ranked(slot.request, entry.candidates, scores, entry.k))

    async def _features_of(
        self,
        request: ranking_pb2.RankRequest,
        model: RankingModel,
        candidates: int,
        remaining_s: float,
    ) -> NDArray[np.float32]:
        timeout = self._reserve.pass_down(remaining_s)
        if timeout <= 0:
            raise FeaturesUnavailableError(
                f"features unavailable: {remaining_s * 1000:.1f} ms left, none to pass down"
            )
        try:
            return await self._features_client.matrix(request, model, candidates, timeout)
        except DownstreamCallError as exc:
            if exc.code == grpc.StatusCode.INVALID_ARGUMENT:
                # The caller's candidates are bad (unknown items, ...), not features' health.
                raise InvalidArgumentError(
                    f"features refused the candidates: {exc.details}"
                ) from exc
            raise FeaturesUnavailableError(f"features unavailable: {exc}") from exc
        except DownstreamError as exc:
            raise FeaturesUnavailableError(f"features unavailable: {exc}") from exc


async def _get_features_batch(
    request: features_pb2.GetFeaturesBatchRequest,
    expected: Sequence[tuple[str, RankingModel, int]],
    stub: features_pb2_grpc.FeaturesServiceAsyncStub,
    timeout: float,  # noqa: ASYNC109 - the gRPC deadline of the call
) -> list[NDArray[np.float32] | Exception]:
    """Each item's feature matrix, or the error Rank answers for it: what features'
    ItemStatus says (as Rank answers that status of a unary call), or
    FEATURES_UNAVAILABLE for a malformed matrix. Raises MalformedReplyError for a reply
    without one result per item, and EveryItemFailedError (a MalformedReplyError, so the
    replica's breaker counts it) when every item failed against the replica."""
    response = parsed(
        await stub.GetFeaturesBatch(request, timeout=timeout),
        features_pb2.GetFeaturesBatchResponse,
    )
    if len(response.results) != len(request.items):
        raise MalformedReplyError(
            f"features answered {len(response.results)} results for {len(request.items)} items"
        )
    outcomes: list[NDArray[np.float32] | Exception] = []
    against_replica = 0
    first = ""
    for result, (version, model, candidates) in zip(response.results, expected, strict=True):
        if result.status.code != 0:
            error = features_failure(result.status.code, result.status.message)
            if counts_against_replica(result.status):
                against_replica += 1
                first = first or str(error)
            outcomes.append(error)
            continue
        try:
            outcomes.append(decode_features(result.response, version, model, candidates))
        except MalformedReplyError as exc:
            against_replica += 1
            first = first or str(exc)
            outcomes.append(FeaturesUnavailableError(f"features unavailable: {exc}"))
    if outcomes and against_replica == len(outcomes):
        raise EveryItemFailedError(f"every item failed: {first}", outcomes)
    return outcomes
