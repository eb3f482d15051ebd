"""How a call to a downstream service can fail, as the caller sees it.

Every failure is a `DownstreamError`, so a caller that fails open catches one
type and degrades with the error's text as its detail. What each says about the
replica that gave it is decided in one place (`judge`).
"""

from __future__ import annotations

import enum
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from google.rpc.error_details_pb2 import ErrorInfo

from recmesh.rpc.error_info import error_info


class DownstreamError(Exception):
    """A downstream call gave no usable reply; the message says why, for a detail."""


class MalformedReplyError(DownstreamError):
    """The reply arrived but does not decode or contradicts the request (lengths
    that disagree, positions out of range, a matrix of the wrong shape...)."""


M = TypeVar("M", bound=Message)


def parsed(reply: M | None, message_type: type[M]) -> M:
    """The reply of a unary call; grpc.aio hands the caller None (and only logs) when the
    reply's bytes do not parse as the response message."""
    if reply is None:
        raise MalformedReplyError(
            f"the reply does not parse as a {message_type.DESCRIPTOR.full_name}"
        )
    return reply


class DownstreamOpenError(DownstreamError):
    """Every replica of the service is ejected: the call was not attempted."""


class DownstreamCallError(DownstreamError):
    """The call ended with a non-OK status."""

    def __init__(self, error: grpc.aio.AioRpcError) -> None:
        self.code: grpc.StatusCode = error.code()
        self.details: str = error.details() or ""
        self.info: ErrorInfo | None = error_info(error)
        super().__init__(f"{self.code.name}: {self.details}")

    def has_reason(self, domain: str, reason: str) -> bool:
        return self.info is not None and (self.info.domain, self.info.reason) == (domain, reason)


# A replica that answers these has failed or is not keeping up: UNAVAILABLE from the
# transport (no ErrorInfo: an UNAVAILABLE that carries one is a deliberate answer about
# something behind the replica), deadline misses, server bugs, and shedding.
_FAILURE_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


class Verdict(enum.Enum):
    """What a failed call says about the replica that gave it."""

    #: The replica failed or is not keeping up: counts towards ejecting it.
    FAILED = "failed"
    #: The replica answered (about the request, or on purpose): it is healthy.
    ANSWERED = "answered"
    #: Nothing either way: the caller gave it too little time to tell.
    NONE = "none"


def judge(error: DownstreamError, granted_s: float, min_judged_deadline_s: float) -> Verdict:
    """What the error says about the replica, given the timeout the call was granted.

    FAILED for the codes above without an ErrorInfo and for malformed replies;
    INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND and the like are about the request,
    and a status with an ErrorInfo reason is the replica answering on purpose (ANSWERED).
    A deadline missed with less than `min_judged_deadline_s` granted is NONE: a healthy
    replica misses such a deadline too, so a few impatient callers must not eject it for
    everyone."""
    if isinstance(error, MalformedReplyError):
        return Verdict.FAILED
    if isinstance(error, DownstreamCallError):
        if error.code == grpc.StatusCode.DEADLINE_EXCEEDED and granted_s < min_judged_deadline_s:
            return Verdict.NONE
        if error.code in _FAILURE_CODES and error.info is None:
            return Verdict.FAILED
    return Verdict.ANSWERED


def is_transport_unavailable(error: DownstreamError) -> bool:
    """UNAVAILABLE with no reason attached: the call may not have reached a handler, so
    another replica may be tried (every downstream call is a read)."""
    return (
        isinstance(error, DownstreamCallError)
        and error.code == grpc.StatusCode.UNAVAILABLE
        and error.info is None
    )
