"""Which arm a downstream call serves, as its metadata says, and how a shadow is shed.

The front calls candidates and ranking for three kinds of work (`CallArm`):

- CHAMPION: the champion's answers. Unmarked, batched under load, as always.
- CHALLENGER: a STAGED rollout's challenger arm, answering real users
  (services/recommend/arms.py). Marked `recmesh-arm: challenger`.
- SHADOW: the challenger ranking a request after the champion answered
  (services/recommend/shadow.py). Marked `recmesh-shadow: 1`, the mark shadow calls
  have always carried, so fronts and rankings of either release agree about shadows.

The marks are `ARM_METADATA`, one table; `call_arm` reads a call's arm back from its
invocation metadata (unmarked: CHAMPION). A service whose work for a marked call could
hold up champion calls (ranking's XGBoost scoring runs on its event loop) runs that
work off the loop (services/ranking/scoring_lanes.py). It may refuse a SHADOW call
while it has answering calls in flight above a threshold: RESOURCE_EXHAUSTED with the
ErrorInfo (`DOMAIN`, `SHED`) (`ShadowShedError`). The ErrorInfo makes it an answer on
purpose, so the caller's breaker does not count it against the replica, and the front
counts the shadow as shed (`downstream_busy`), never as a challenger error. A
CHALLENGER call is never shed: it answers a user.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from google.rpc.error_details_pb2 import ErrorInfo

from recmesh.rpc.errors import ResourceExhaustedError
from services.common.downstream_errors import DownstreamCallError, DownstreamError


class CallArm(enum.Enum):
    """What a downstream call is for (see the module docstring)."""

    CHAMPION = "champion"
    CHALLENGER = "challenger"
    SHADOW = "shadow"


Metadata = tuple[tuple[str, str], ...]

#: The invocation metadata each arm's calls carry.
ARM_METADATA: Mapping[CallArm, Metadata] = MappingProxyType(
    {
        CallArm.CHAMPION: (),
        CallArm.CHALLENGER: (("recmesh-arm", "challenger"),),
        CallArm.SHADOW: (("recmesh-shadow", "1"),),
    }
)
_ARM_OF_MARK: Mapping[tuple[str, str], CallArm] = MappingProxyType(
    {mark: arm for arm, marks in ARM_METADATA.items() for mark in marks}
)

#: The ErrorInfo of a shadow call shed by a busy downstream.
DOMAIN = "recmesh.shadow"
SHED = "SHADOW_SHED"


def call_arm(metadata: Iterable[Any] | None) -> CallArm:
    """The arm the call's invocation metadata marks it with; CHAMPION when unmarked."""
    if metadata:
        for key, value in metadata:
            arm = _ARM_OF_MARK.get((key, value))
            if arm is not None:
                return arm
    return CallArm.CHAMPION


class ShadowShedError(ResourceExhaustedError):
    """A shadow call refused because answering calls are in flight."""

    def error_info(self) -> ErrorInfo:
        return ErrorInfo(domain=DOMAIN, reason=SHED)


def is_shadow_shed(error: DownstreamError) -> bool:
    """Whether a downstream failure is a shadow call shed on purpose."""
    return isinstance(error, DownstreamCallError) and error.has_reason(DOMAIN, SHED)
