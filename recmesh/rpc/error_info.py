"""google.rpc.ErrorInfo in a gRPC status: the part of a failure a caller acts on.

A server attaches it as the `grpc-status-details-bin` trailer, a serialized
google.rpc.Status whose details hold the ErrorInfo (the encoding grpcio-status
uses); a caller reads it back with `error_info`. The message string stays for
people; code never parses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import grpc
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.message import DecodeError
from google.rpc.error_details_pb2 import ErrorInfo
from google.rpc.status_pb2 import Status

STATUS_DETAILS_KEY = "grpc-status-details-bin"


def status_trailer(
    code: grpc.StatusCode, message: str, info: ErrorInfo
) -> tuple[tuple[str, bytes], ...]:
    """The trailing metadata that carries info with a status of code and message."""
    detail = AnyMessage()
    detail.Pack(info)
    status = Status(code=code.value[0], message=message, details=[detail])
    return ((STATUS_DETAILS_KEY, status.SerializeToString()),)


def error_info(error: grpc.aio.AioRpcError) -> ErrorInfo | None:
    """The ErrorInfo a failed call's status carries, None when it carries none (or
    carries bytes that do not parse: a failure without a reason)."""
    # grpc-stubs types the sync RpcError's trailers; an AioRpcError's are a
    # grpc.aio.Metadata, which iterates as (key, value) pairs.
    trailers = cast("Iterable[tuple[str, str | bytes]]", error.trailing_metadata() or ())
    for key, value in trailers:
        if key != STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            status = Status.FromString(value)
        except DecodeError:
            return None
        for detail in status.details:
            info = ErrorInfo()
            if detail.Unpack(info):  # False for a detail of another type
                return info
    return None
