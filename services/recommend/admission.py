"""Admission control of the front: how many Recommend calls are in flight, and the limit.

A call past the limit is not queued behind the downstream hops: it is answered at
once from memory (the flow's admission stage, degraded OVERLOADED). The count covers
the call while its answer is worked out; building and sending the reply is not
counted. The degraded detail ("31 requests in flight (limit 32)") is the admission
stage's in services/recommend/flow.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Overload:
    """A call refused: `in_flight` other calls were in flight, `limit` at most admitted."""

    in_flight: int
    limit: int


class Admission:
    """Counts the calls in flight; a call past `max_in_flight` is refused (an Overload)."""

    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Overload | None]:
        """Counts the call in flight for the block; yields None when it is admitted, the
        Overload when it is past the limit (it still counts until the block ends)."""
        self.in_flight += 1
        try:
            if self.in_flight > self.max_in_flight:
                yield Overload(self.in_flight - 1, self.max_in_flight)
            else:
                yield None
        finally:
            self.in_flight -= 1
