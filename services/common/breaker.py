"""A circuit breaker for one downstream replica, as pure logic over an injected clock.

closed --(failures_to_open consecutive failures)--> open
open   --(cooldown over, out-of-band probe passes)--> half-open
open   --(probe fails)--> open again, cooldown x backoff (capped)
half-open --(the one trial call succeeds)--> closed (cooldown back to the first)
half-open --(the trial fails)--> open again, cooldown x backoff (capped)

A failure is what the caller says it is (see `services.common.downstream`); any
success while closed resets the count. While open, no call is admitted, so the
caller degrades at once instead of waiting on a replica that has stopped
answering. The probe is out of band (a health check with its own short
timeout), so that no user request is the one that waits out a frozen replica.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


class BreakerState(enum.Enum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass(frozen=True)
class BreakerPolicy:
    """When to stop calling a replica and how long to wait before probing it again."""

    failures_to_open: int = 3
    # Probes are health checks, cheap for the replica and invisible to users, so an
    # ejected replica is looked at again within a second at most: a service that comes
    # back is used again within about a second of saying SERVING.
    first_cooldown_s: float = 0.25
    max_cooldown_s: float = 1.0
    backoff: float = 2.0


#: Called with (old, new) on every change of state.
StateListener = Callable[[BreakerState, BreakerState], None]


def _ignore(old: BreakerState, new: BreakerState) -> None:
    return None


class Breaker:
    """The breaker of one replica. Callers ask `admit()` before a call and report its
    outcome with exactly one of `succeeded()`, `failed()` or `released()`."""

    def __init__(
        self,
        policy: BreakerPolicy,
        clock: Clock = time.monotonic,
        on_change: StateListener = _ignore,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._cooldown_s = policy.first_cooldown_s
        self._probe_at = 0.0
        self._probing = False
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def cooldown_s(self) -> float:
        """The cooldown the breaker waits (or will wait next) before probing."""
        return self._cooldown_s

    def admit(self) -> bool:
        """Whether a call may go to the replica now; in half-open, only the one trial."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def succeeded(self) -> None:
        """An admitted call got an answer from the replica."""
        if self._state is BreakerState.CLOSED:
            self._failures = 0
        elif self._state is BreakerState.HALF_OPEN:
            self._cooldown_s = self._policy.first_cooldown_s
            self._failures = 0
            self._trial_in_flight = False
            self._move(BreakerState.CLOSED)
        # Open: a call admitted before the breaker opened came back late; the probe decides.

    def failed(self) -> None:
        """An admitted call failed in a way that counts against the replica."""
        if self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self._policy.failures_to_open:
                self._open()
        elif self._state is BreakerState.HALF_OPEN:
            self._trial_in_flight = False
            self._reopen()

    def released(self) -> None:
        """An admitted call ended with no verdict on the replica (cancelled by its caller)."""
        if self._state is BreakerState.HALF_OPEN:
            self._trial_in_flight = False

    def probe_due(self) -> bool:
        """Open, the cooldown is over and no probe runs: the caller should start one."""
        return (
            self._state is BreakerState.OPEN
            and not self._probing
            and self._clock() >= self._probe_at
        )

    def probe_started(self) -> None:
        self._probing = True

    def probe_passed(self) -> None:
        """The replica says it serves: let one trial call through."""
        self._probing = False
        if self._state is BreakerState.OPEN:
            self._trial_in_flight = False
            self._move(BreakerState.HALF_OPEN)

    def probe_failed(self) -> None:
        self._probing = False
        if self._state is BreakerState.OPEN:
            self._reopen()

    def _open(self) -> None:
        self._probe_at = self._clock() + self._cooldown_s
        self._move(BreakerState.OPEN)

    def _reopen(self) -> None:
        self._cooldown_s = min(self._cooldown_s * self._policy.backoff, self._policy.max_cooldown_s)
        self._open()

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if old is not new:
            self._on_change(old, new)
