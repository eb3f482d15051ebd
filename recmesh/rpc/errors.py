"""Domain errors that know their gRPC status.

Handlers raise these; the instrumenting interceptor (recmesh.server) maps them to a status
and message once, so no handler calls `context.abort` itself. Anything else
that escapes a handler is a programmer error and surfaces as INTERNAL.
"""

from __future__ import annotations

from typing import ClassVar

import grpc
from google.rpc.error_details_pb2 import ErrorInfo

from recmesh.rpc.error_info import status_trailer


class RecmeshError(Exception):
    """Base class: a failure the caller can act on, with its gRPC status code."""

    code: ClassVar[grpc.StatusCode] = grpc.StatusCode.UNKNOWN

    def error_info(self) -> ErrorInfo | None:
        """What a caller acts on beyond the code (google.rpc.ErrorInfo), if anything."""
        return None

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        """The status details trailer carrying error_info(); empty without one."""
        info = self.error_info()
        return () if info is None else status_trailer(self.code, str(self), info)


class InvalidArgumentError(RecmeshError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFoundError(RecmeshError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(RecmeshError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPreconditionError(RecmeshError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDeniedError(RecmeshError):
    code = grpc.StatusCode.PERMISSION_DENIED


class UnauthenticatedError(RecmeshError):
    code = grpc.StatusCode.UNAUTHENTICATED


class UnavailableError(RecmeshError):
    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceededError(RecmeshError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class ResourceExhaustedError(RecmeshError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
