"""google.rpc.ErrorInfo in a gRPC status: the part of a failure a caller acts on.

A server attaches it as the `grpc-status-details-bin` trailer, a serialized
google.rpc.Status whose details hold the ErrorInfo; grpcio-status
(`grpc_status.rpc_status`) builds that trailer (`to_status`) and reads it back
(`from_call`). A caller reads the ErrorInfo with `error_info`. The message string
stays for people; code never parses it.
"""

from __future__ import annotations

from typing import cast

import grpc
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.message import DecodeError
from google.rpc.error_details_pb2 import ErrorInfo
from google.rpc.status_pb2 import Status
from grpc_status import rpc_status


def status_trailer(
    code: grpc.StatusCode, message: str, info: ErrorInfo
) -> tuple[tuple[str, bytes], ...]:
    """The trailing metadata that carries info with a status of code and message.

    message must be the status message the call ends with: a reader
    (`rpc_status.from_call`) rejects details whose code or message disagree with
    the call's."""
    detail = AnyMessage()
    detail.Pack(info)
    status = Status(code=code.value[0], message=message, details=[detail])
    # grpc-stubs types grpc.Status's trailers as str | bytes values; this one is bytes.
    return cast("tuple[tuple[str, bytes], ...]", rpc_status.to_status(status).trailing_metadata)


def error_info(error: grpc.aio.AioRpcError) -> ErrorInfo | None:
    """The ErrorInfo a failed call's status carries, None when it carries none (or
    carries details that do not parse or disagree with the call's code and message:
    a failure without a reason)."""
    # An AioRpcError answers code(), details() and trailing_metadata() synchronously,
    # as the grpc.Call that rpc_status.from_call reads (rpc_status.aio.from_call awaits
    # them, for a grpc.aio.Call); grpc-stubs does not make it a grpc.Call.
    try:
        status: Status | None = rpc_status.from_call(cast("grpc.Call", error))
    except (DecodeError, ValueError, TypeError):
        return None
    if status is None:
        return None
    for detail in status.details:
        info = ErrorInfo()
        if detail.Unpack(info):  # False for a detail of another type
            return info
    return None
