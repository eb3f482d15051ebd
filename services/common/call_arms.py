"""How a downstream tells a shadow call from a champion call, and how it sheds one.

The front's shadow scoring (services/recommend/shadow.py) sends its downstream calls
with the metadata `recmesh-shadow: 1` (`SHADOW_METADATA`). A service whose work for a
shadow call could hold up champion calls (ranking's XGBoost scoring runs on its
event loop) runs that work off the loop and refuses a shadow call while it has
champion calls in flight above a threshold: RESOURCE_EXHAUSTED with the ErrorInfo
(`DOMAIN`, `SHED`) (`ShadowShedError`). The ErrorInfo makes it an answer on purpose,
so the caller's breaker does not count it against the replica, and the front counts
the shadow as shed (`downstream_busy`), never as a challenger error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.rpc.error_details_pb2 import ErrorInfo

from recmesh.rpc.errors import ResourceExhaustedError
from services.common.downstream_errors import DownstreamCallError, DownstreamError

SHADOW_METADATA_KEY = "recmesh-shadow"
SHADOW_METADATA: tuple[tuple[str, str], ...] = ((SHADOW_METADATA_KEY, "1"),)

#: The ErrorInfo of a shadow call shed by a busy downstream.
DOMAIN = "recmesh.shadow"
SHED = "SHADOW_SHED"


def is_shadow_call(metadata: Iterable[Any] | None) -> bool:
    """Whether the call's invocation metadata marks it a shadow call."""
    if not metadata:
        return False
    return any(key == SHADOW_METADATA_KEY and value == "1" for key, value in metadata)


class ShadowShedError(ResourceExhaustedError):
    """A shadow call refused because champion calls are in flight."""

    def error_info(self) -> ErrorInfo:
        return ErrorInfo(domain=DOMAIN, reason=SHED)


def is_shadow_shed(error: DownstreamError) -> bool:
    """Whether a downstream failure is a shadow call shed on purpose."""
    return isinstance(error, DownstreamCallError) and error.has_reason(DOMAIN, SHED)
