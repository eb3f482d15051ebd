"""When the front may shadow a request, and when it sheds the shadow instead.

Shadow work never competes with answers: it is shed first. `ShadowPolicy.shed_reason`
names why a shadow is skipped, or None when it may run:

- `busy`: more champion Recommends are in flight than `busy_fraction` of the
  front's --max-in-flight (the front is working toward its admission limit; a
  shadow's downstream calls would queue beside the answers');
- `in_flight`: `max_in_flight` shadows are running already;
- `cpu_budget`: the front process used more than `cpu_budget` of one core over the
  last second (services/recommend/cpu_meter.py); a budget of 0 sheds every shadow.

The checks run in that order, cheapest first; a shed shadow is counted by reason
(`recmesh_shadow_shed_total{reason}`) and never retried. A shadow the front admitted
may still be shed downstream: ranking refuses a shadow call while it has answering
(champion or staged challenger) calls in flight (services/ranking/scoring_lanes.py),
counted as `downstream_busy` (services/recommend/shadow.py), never as a challenger
error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

BUSY = "busy"
IN_FLIGHT = "in_flight"
CPU_BUDGET = "cpu_budget"
DOWNSTREAM_BUSY = "downstream_busy"
SHED_REASONS = (BUSY, IN_FLIGHT, CPU_BUDGET, DOWNSTREAM_BUSY)


@dataclass(frozen=True)
class ShadowPolicy:
    """How much shadow work the front allows (--shadow-cpu-budget sets `cpu_budget`)."""

    cpu_budget: float = 0.5
    max_in_flight: int = 4
    busy_fraction: float = 0.25

    def __post_init__(self) -> None:
        if self.cpu_budget < 0:
            raise ValueError(f"the shadow CPU budget is >= 0 cores, not {self.cpu_budget!r}")
        if self.max_in_flight < 0:
            raise ValueError(f"shadows in flight are >= 0, not {self.max_in_flight!r}")
        if not 0.0 <= self.busy_fraction <= 1.0:
            raise ValueError(f"busy_fraction is in [0, 1], not {self.busy_fraction!r}")

    def shed_reason(
        self,
        *,
        champion_in_flight: int,
        champion_limit: int,
        shadows_in_flight: int,
        cpu_cores: Callable[[], float],
    ) -> str | None:
        """Why a shadow must be skipped now, or None. `cpu_cores` (the front's CPU
        over the last second) is measured only when the other checks pass."""
        if champion_in_flight > self.busy_fraction * champion_limit:
            return BUSY
        if shadows_in_flight >= self.max_in_flight:
            return IN_FLIGHT
        if cpu_cores() >= self.cpu_budget:
            return CPU_BUDGET
        return None
