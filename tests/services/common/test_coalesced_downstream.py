"""services/common/coalesced_downstream.py over a real `Downstream` around a fake async
stub (no server): per-item statuses become the errors a unary call raises (ErrorInfo
reasons kept), each item carries its caller's trace context and time left, the
breaker judges a batch whose every item failed, a replica without the batch RPC gets
unary calls, and batching off is the unary call."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf.any_pb2 import Any as AnyMessage
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from recmesh.api.common.v1 import batch_pb2
from recmesh.api.ranking.v1 import ranking_pb2
from recmesh.telemetry.metrics import ServerMetrics
from recmesh.wire import rank_errors
from recmesh.wire.rank_errors import features_unavailable
from services.common.breaker import BreakerPolicy
from services.common.coalesced_downstream import (
    BatchingOptions,
    BatchRpc,
    CoalescedDownstream,
    item_error,
)
from services.common.downstream import Downstream, DownstreamPolicy
from services.common.downstream_errors import (
    DownstreamCallError,
    DownstreamOpenError,
    MalformedReplyError,
    parsed,
)
from services.common.options import add_batching_arguments, batching_options

POLICY = DownstreamPolicy(breaker=BreakerPolicy(failures_to_open=3, first_cooldown_s=60.0))
UNAVAILABLE = batch_pb2.ItemStatus(code=grpc.StatusCode.UNAVAILABLE.value[0], message="down")


def features_status() -> batch_pb2.ItemStatus:
    detail = AnyMessage()
    detail.Pack(features_unavailable())
    return batch_pb2.ItemStatus(
        code=grpc.StatusCode.UNAVAILABLE.value[0],
        message="features unavailable: DEADLINE_EXCEEDED",
        details=[detail],
    )


@dataclass
class FakeStub:
    """Answers Rank and RankBatch: a user id naming a status in `statuses` fails with
    it; any other is answered with its user id as the serving version. RankBatch holds
    each call until `gate` is set (Rank too, with `hold_unary`); with `unimplemented`
    RankBatch is UNIMPLEMENTED."""

    statuses: dict[str, batch_pb2.ItemStatus] = field(default_factory=dict)
    unimplemented: bool = False
    hold_unary: bool = False
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    batches: list[ranking_pb2.RankBatchRequest] = field(default_factory=list)
    batch_timeouts: list[float] = field(default_factory=list)
    unary: list[str] = field(default_factory=list)

    async def Rank(
        self,
        request: ranking_pb2.RankRequest,
        timeout: float,  # noqa: ASYNC109 - the stub's signature
    ) -> ranking_pb2.RankResponse:
        self.unary.append(request.user_id)
        if self.hold_unary:
            try:
                await asyncio.wait_for(self.gate.wait(), timeout)
            except TimeoutError:  # what a real stub raises when the deadline passes
                raise grpc.aio.AioRpcError(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    grpc.aio.Metadata(),
                    grpc.aio.Metadata(),
                    "Deadline Exceeded",
                    None,
                ) from None
        status = self.statuses.get(request.user_id)
        if status is not None:
            raise grpc.aio.AioRpcError(
                item_error(status).code,
                grpc.aio.Metadata(),
                grpc.aio.Metadata(),
                status.message,
                None,
            )
        return ranking_pb2.RankResponse(serving_version=request.user_id)

    async def RankBatch(
        self,
        request: ranking_pb2.RankBatchRequest,
        timeout: float,  # noqa: ASYNC109 - the stub's signature
    ) -> ranking_pb2.RankBatchResponse:
        if self.unimplemented:
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNIMPLEMENTED,
                grpc.aio.Metadata(),
                grpc.aio.Metadata(),
                "Method not found!",
                None,
            )
        self.batches.append(request)
        self.batch_timeouts.append(timeout)
        await self.gate.wait()
        results = []
        for item in request.items:
            status = self.statuses.get(item.request.user_id)
            if status is None:
                results.append(
                    ranking_pb2.RankBatchResult(
                        status=batch_pb2.ItemStatus(code=0),
                        response=ranking_pb2.RankResponse(serving_version=item.request.user_id),
                    )
                )
            else:
                results.append(ranking_pb2.RankBatchResult(status=status))
        return ranking_pb2.RankBatchResponse(results=results)


async def _unary(
    stub: FakeStub,
    request: ranking_pb2.RankRequest,
    timeout: float,  # noqa: ASYNC109 - the call's signature
) -> ranking_pb2.RankResponse | None:
    return await stub.Rank(request, timeout)


async def _batch(
    stub: FakeStub,
    items: list[tuple[ranking_pb2.RankRequest, batch_pb2.BatchItemContext]],
    timeout: float,  # noqa: ASYNC109 - the call's signature
) -> Sequence[tuple[batch_pb2.ItemStatus, ranking_pb2.RankResponse | None]]:
    reply = await stub.RankBatch(
        ranking_pb2.RankBatchRequest(
            items=[ranking_pb2.RankBatchItem(request=r, context=c) for r, c in items]
        ),
        timeout,
    )
    results = parsed(reply, ranking_pb2.RankBatchResponse).results
    return [(r.status, r.response if r.HasField("response") else None) for r in results]


RPC: BatchRpc[FakeStub, ranking_pb2.RankRequest, ranking_pb2.RankResponse] = BatchRpc(
    "Rank", _unary, _batch
)


def decode(response: ranking_pb2.RankResponse | None) -> str:
    reply = parsed(response, ranking_pb2.RankResponse)
    if reply.serving_version == "malformed":
        raise MalformedReplyError("a malformed reply")
    return reply.serving_version


def client(
    stub: FakeStub,
    options: BatchingOptions | None = None,
    tracer: trace.Tracer | None = None,
    policy: DownstreamPolicy = POLICY,
) -> CoalescedDownstream[FakeStub, ranking_pb2.RankRequest, ranking_pb2.RankResponse, str]:
    def connect(address: str) -> tuple[grpc.aio.Channel, Any]:
        return grpc.aio.insecure_channel(address), stub

    downstream = Downstream(
        "ranking", ["127.0.0.1:1"], connect, ServerMetrics("test"), policy, clock=lambda: 0
    )
    return CoalescedDownstream(
        downstream, RPC, options or BatchingOptions(max_in_flight=1), tracer, policy
    )


async def call(
    coalesced: CoalescedDownstream[
        FakeStub, ranking_pb2.RankRequest, ranking_pb2.RankResponse, str
    ],
    user: str,
    timeout: float = 1.0,  # noqa: ASYNC109 - the call's timeout
) -> str:
    return await coalesced.call(ranking_pb2.RankRequest(user_id=user), decode, timeout)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_item_error_is_the_error_of_a_unary_call_with_that_status() -> None:
    error = item_error(features_status())
    assert isinstance(error, DownstreamCallError)
    assert error.code == grpc.StatusCode.UNAVAILABLE
    assert error.details == "features unavailable: DEADLINE_EXCEEDED"
    assert str(error) == "UNAVAILABLE: features unavailable: DEADLINE_EXCEEDED"
    assert error.has_reason(rank_errors.DOMAIN, rank_errors.FEATURES_UNAVAILABLE)
    plain = item_error(UNAVAILABLE)
    assert plain.info is None
    assert not plain.has_reason(rank_errors.DOMAIN, rank_errors.FEATURES_UNAVAILABLE)
    assert item_error(batch_pb2.ItemStatus(code=99, message="?")).code == grpc.StatusCode.UNKNOWN


def test_each_item_of_a_batch_gets_its_own_result_or_error() -> None:
    async def main() -> None:
        stub = FakeStub(statuses={"bad": features_status()}, hold_unary=True)
        coalesced = client(stub)
        first = asyncio.create_task(call(coalesced, "first"))
        await settle()
        rest = [asyncio.create_task(call(coalesced, u)) for u in ("a", "bad", "malformed")]
        await settle()
        stub.gate.set()
        assert await first == "first"
        outcomes = await asyncio.gather(*rest, return_exceptions=True)
        # The lone first request went out as the unary call; the rest as one batch.
        assert stub.unary == ["first"]
        assert [len(b.items) for b in stub.batches] == [3]
        assert outcomes[0] == "a"
        bad = outcomes[1]
        assert isinstance(bad, DownstreamCallError)
        assert bad.has_reason(rank_errors.DOMAIN, rank_errors.FEATURES_UNAVAILABLE)
        assert isinstance(outcomes[2], MalformedReplyError)
        # Some items were answered: the replica is healthy.
        assert not coalesced.downstream.is_open

    asyncio.run(main())


def test_each_item_carries_its_callers_trace_context_and_time_left() -> None:
    async def main() -> None:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("test")
        stub = FakeStub(hold_unary=True)
        coalesced = client(stub, tracer=tracer)

        async def traced(user: str) -> tuple[str, str]:
            with tracer.start_as_current_span(f"request {user}") as span:
                await call(coalesced, user, timeout=0.8)
                return user, format(span.get_span_context().trace_id, "032x")

        calls = asyncio.gather(*(traced(u) for u in ("a", "b", "c", "d")))
        await settle()
        stub.gate.set()
        traces = dict(await calls)
        seen = 0
        for batch in stub.batches:
            for item in batch.items:
                traceparent = item.context.trace_context["traceparent"]
                assert traceparent.split("-")[1] == traces[item.request.user_id]
                assert 0 < item.context.remaining_us <= 800_000
                seen += 1
        # "a" went out alone, as the unary call; the three behind it as one batch.
        assert stub.unary == ["a"]
        assert seen == 3
        assert [len(b.items) for b in stub.batches] == [3]
        assert all(t <= 0.8 for t in stub.batch_timeouts)
        sizes = sorted(
            int(str(s.attributes["recmesh.batch_size"]))
            for s in exporter.get_finished_spans()
            if s.name == "coalesced Rank" and s.attributes
        )
        assert sizes == [3]

    asyncio.run(main())


def test_a_batch_whose_every_item_failed_counts_against_the_replica() -> None:
    async def main() -> None:
        stub = FakeStub(statuses={u: UNAVAILABLE for u in "wxyz"}, hold_unary=True)
        coalesced = client(stub)
        # A failing lone call (the unary call), then a batch of two whose every item
        # fails: one failure of the replica each, as two unary calls would be.
        calls = [asyncio.create_task(call(coalesced, u)) for u in "wxy"]
        await settle()
        stub.gate.set()
        for failed in await asyncio.gather(*calls, return_exceptions=True):
            assert isinstance(failed, DownstreamCallError)
            assert str(failed) == "UNAVAILABLE: down"
        assert [len(b.items) for b in stub.batches] == [2]
        assert not coalesced.downstream.is_open
        with pytest.raises(DownstreamCallError):
            await call(coalesced, "z")  # the third failure opens the breaker
        assert coalesced.downstream.is_open
        with pytest.raises(DownstreamOpenError):
            await call(coalesced, "ok")

    asyncio.run(main())


# Deadlines missed with under 5 s granted tell nothing of the replica here, so the
# calls below (1 s each) are too short to judge.
PATIENT = DownstreamPolicy(
    breaker=BreakerPolicy(failures_to_open=3, first_cooldown_s=60.0), min_judged_deadline_s=5.0
)
DEADLINE = batch_pb2.ItemStatus(code=grpc.StatusCode.DEADLINE_EXCEEDED.value[0], message="late")


async def _lone_then_batch(
    coalesced: CoalescedDownstream[
        FakeStub, ranking_pb2.RankRequest, ranking_pb2.RankResponse, str
    ],
    stub: FakeStub,
    lone: str,
    batched: str,
) -> None:
    """`lone` goes out alone (held), `batched` gather behind it and go as one batch."""
    calls = [asyncio.create_task(call(coalesced, u)) for u in lone + batched]
    await settle()
    stub.gate.set()
    await asyncio.gather(*calls, return_exceptions=True)
    assert [len(b.items) for b in stub.batches] == [len(batched)]


def test_a_batch_of_items_too_short_to_judge_leaves_the_breaker_as_it_was() -> None:
    """Every item late with too little time granted: no verdict, as for unary calls
    (it used to count as a success and reset the replica's failures)."""

    async def main() -> None:
        stub = FakeStub(statuses={"w": UNAVAILABLE, "a": DEADLINE, "b": DEADLINE}, hold_unary=True)
        coalesced = client(stub, policy=PATIENT)
        await _lone_then_batch(coalesced, stub, "w", "ab")  # one failure, then no verdict
        for _ in range(2):
            with pytest.raises(DownstreamCallError):
                await call(coalesced, "w")
        assert coalesced.downstream.is_open  # 1 + 0 + 2 failures in a row

    asyncio.run(main())


def test_a_batch_with_a_failed_item_and_unjudged_ones_counts_a_failure() -> None:
    """One item failed against the replica, the others too short to judge: a failure."""

    async def main() -> None:
        stub = FakeStub(
            statuses={"w": UNAVAILABLE, "x": UNAVAILABLE, "a": DEADLINE}, hold_unary=True
        )
        coalesced = client(stub, policy=PATIENT)
        await _lone_then_batch(coalesced, stub, "w", "xa")  # two failures
        with pytest.raises(DownstreamCallError):
            await call(coalesced, "w")
        assert coalesced.downstream.is_open

    asyncio.run(main())


def test_a_replica_without_the_batch_rpc_gets_unary_calls() -> None:
    async def main() -> None:
        stub = FakeStub(unimplemented=True, statuses={"bad": UNAVAILABLE})
        coalesced = client(stub)
        assert await call(coalesced, "a") == "a"
        outcomes = await asyncio.gather(
            call(coalesced, "b"), call(coalesced, "bad"), return_exceptions=True
        )
        assert outcomes[0] == "b"
        assert isinstance(outcomes[1], DownstreamCallError)
        assert stub.unary == ["a", "b", "bad"]
        assert not coalesced.downstream.is_open

    asyncio.run(main())


def test_batching_off_is_one_unary_call_per_request() -> None:
    async def main() -> None:
        stub = FakeStub(statuses={"bad": features_status()})
        coalesced = client(stub, BatchingOptions(enabled=False))
        results = await asyncio.gather(
            call(coalesced, "a"), call(coalesced, "bad"), return_exceptions=True
        )
        assert results[0] == "a"
        assert isinstance(results[1], DownstreamCallError)
        assert stub.unary == ["a", "bad"]
        assert stub.batches == []

    asyncio.run(main())


def test_an_item_whose_deadline_passes_fails_as_a_late_unary_call() -> None:
    async def main() -> None:
        stub = FakeStub(hold_unary=True)
        coalesced = client(stub)
        with pytest.raises(DownstreamCallError) as late:
            await call(coalesced, "a", timeout=0.02)
        assert late.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
        assert str(late.value) == "DEADLINE_EXCEEDED: Deadline Exceeded"
        stub.gate.set()
        await coalesced.close()

    asyncio.run(main())


def test_items_late_on_a_hung_replica_count_against_it_as_late_unary_calls() -> None:
    async def main() -> None:
        stub = FakeStub(hold_unary=True)  # the gate is never set: the replica hangs
        coalesced = client(stub, BatchingOptions(max_in_flight=8))
        late = await asyncio.gather(
            *(call(coalesced, u, timeout=0.06) for u in ("a", "b", "c")),
            return_exceptions=True,
        )
        assert all(isinstance(e, DownstreamCallError) for e in late)
        # Three requests missed their deadline on it (each went out alone, as the unary
        # call): ejected, as after three late unary calls, once their calls' own
        # deadlines have passed; nothing waits for the hung calls to end.
        for _ in range(100):
            if coalesced.downstream.is_open:
                break
            await asyncio.sleep(0.01)
        assert coalesced.downstream.is_open
        with pytest.raises(DownstreamOpenError):
            await call(coalesced, "d")
        stub.gate.set()
        await coalesced.close()

    asyncio.run(main())


def test_batching_options_from_the_command_line() -> None:
    parser = argparse.ArgumentParser()
    add_batching_arguments(parser, "ranking")
    assert batching_options(parser.parse_args([]), parser) == BatchingOptions()
    assert batching_options(parser.parse_args([]), parser).enabled
    off = batching_options(parser.parse_args(["--no-batching"]), parser)
    assert not off.enabled
    tuned = batching_options(
        parser.parse_args(["--batch-max-in-flight", "4", "--batch-max-size", "8"]), parser
    )
    assert (tuned.max_in_flight, tuned.max_batch) == (4, 8)
    with pytest.raises(SystemExit):
        batching_options(parser.parse_args(["--batch-max-size", "0"]), parser)
