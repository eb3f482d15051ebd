"""google.rpc.ErrorInfo in a status, through a real server's instrumenting interceptor
and a real client: a RecmeshError that carries one is readable by the caller; one that
does not leaves the status without details."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf.any_pb2 import Any as AnyMessage
from google.rpc.error_details_pb2 import ErrorInfo
from google.rpc.status_pb2 import Status
from grpc_status import rpc_status
from opentelemetry.sdk.trace import TracerProvider

from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.rpc.error_info import error_info, status_trailer
from recmesh.rpc.errors import InvalidArgumentError, RecmeshError
from recmesh.server.build import server_interceptors
from recmesh.wire.rank_errors import DOMAIN, FEATURES_UNAVAILABLE
from services.ranking.errors import FeaturesUnavailableError


class Raising(ranking_pb2_grpc.RankingServiceServicer):
    def __init__(self, error: RecmeshError) -> None:
        self.error = error

    async def Rank(
        self, request: ranking_pb2.RankRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> ranking_pb2.RankResponse:
        raise self.error

    async def RankBatch(
        self,
        request: ranking_pb2.RankBatchRequest,
        context: grpc.aio.ServicerContext[object, object],
    ) -> ranking_pb2.RankBatchResponse:
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "this fake serves Rank only (a unary call's status)"
        )


async def _call_failing_with(error: RecmeshError) -> grpc.aio.AioRpcError:
    server = grpc.aio.server(interceptors=server_interceptors(TracerProvider(), None))
    ranking_pb2_grpc.add_RankingServiceServicer_to_server(Raising(error), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await ranking_pb2_grpc.RankingServiceStub(channel).Rank(
                    ranking_pb2.RankRequest(), timeout=5
                )
            return caught.value
    finally:
        await server.stop(0)


def test_an_error_with_error_info_reaches_the_caller() -> None:
    """FeaturesUnavailableError arrives as UNAVAILABLE with its message and the ErrorInfo
    (domain recmesh.ranking.v1, reason RANK_ERROR_REASON_FEATURES_UNAVAILABLE)."""
    failed = asyncio.run(_call_failing_with(FeaturesUnavailableError("features unavailable: x")))
    assert failed.code() == grpc.StatusCode.UNAVAILABLE
    assert failed.details() == "features unavailable: x"
    assert error_info(failed) == ErrorInfo(domain=DOMAIN, reason=FEATURES_UNAVAILABLE)
    assert FEATURES_UNAVAILABLE == "RANK_ERROR_REASON_FEATURES_UNAVAILABLE"
    assert DOMAIN == "recmesh.ranking.v1"


def test_an_error_without_error_info_carries_none() -> None:
    """A plain RecmeshError keeps its code and message and carries no ErrorInfo."""
    failed = asyncio.run(_call_failing_with(InvalidArgumentError("k must be positive")))
    assert failed.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(failed) is None


def _failed(
    code: grpc.StatusCode, details: str, trailer: tuple[tuple[str, bytes], ...]
) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailer), details, None
    )


def test_the_trailer_is_the_one_grpcio_status_builds_and_reads() -> None:
    """status_trailer is grpc_status.rpc_status.to_status's trailer; error_info reads it
    back from an AioRpcError (what rpc_status.from_call reads)."""
    info = ErrorInfo(domain=DOMAIN, reason=FEATURES_UNAVAILABLE)
    trailer = status_trailer(grpc.StatusCode.UNAVAILABLE, "features unavailable", info)
    detail = AnyMessage()
    detail.Pack(info)
    status = Status(code=grpc.StatusCode.UNAVAILABLE.value[0], message="features unavailable")
    status.details.append(detail)
    assert trailer == tuple(rpc_status.to_status(status).trailing_metadata)
    failed = _failed(grpc.StatusCode.UNAVAILABLE, "features unavailable", trailer)
    assert error_info(failed) == info


def test_details_that_do_not_parse_or_disagree_carry_no_reason() -> None:
    """Bytes that are not a Status, or a Status whose code or message is not the call's
    (rpc_status.from_call refuses it), leave the failure without a reason."""
    info = ErrorInfo(domain=DOMAIN, reason=FEATURES_UNAVAILABLE)
    trailer = status_trailer(grpc.StatusCode.UNAVAILABLE, "features unavailable", info)
    garbage = ((trailer[0][0], b"\xff\xff not a status"),)
    assert error_info(_failed(grpc.StatusCode.UNAVAILABLE, "x", garbage)) is None
    assert error_info(_failed(grpc.StatusCode.INTERNAL, "features unavailable", trailer)) is None
    assert error_info(_failed(grpc.StatusCode.UNAVAILABLE, "other text", trailer)) is None
    assert error_info(_failed(grpc.StatusCode.UNAVAILABLE, "x", ())) is None
