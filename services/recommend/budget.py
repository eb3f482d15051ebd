"""Splits the caller's deadline into per-hop deadlines.

The front keeps a reserve to build and send its answer: a share of the deadline
(so that on a saturated machine, where its own event loop lags, the fallback
answer still leaves before the caller gives up), at least a fixed floor.
Candidates get a share of what remains; ranking (which calls features itself)
gets the rest.
With no deadline from the caller the front uses `default_budget`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BudgetPolicy:
    default_budget_s: float = 0.5
    max_budget_s: float = 2.0
    reserve_s: float = 0.002
    reserve_share: float = 0.2
    candidates_share: float = 0.4
    min_hop_s: float = 0.002


@dataclass(frozen=True)
class HopBudget:
    """Seconds each hop may take; `usable` is False when too little time is left to fan out."""

    candidates_s: float
    total_s: float

    @property
    def usable(self) -> bool:
        return self.candidates_s > 0

    def ranking_s(self, elapsed_s: float) -> float:
        """What is left for ranking after `elapsed_s` seconds spent so far."""
        return self.total_s - elapsed_s


def plan_budget(time_remaining_s: float | None, policy: BudgetPolicy) -> HopBudget:
    budget = policy.default_budget_s if time_remaining_s is None else time_remaining_s
    budget = min(budget, policy.max_budget_s)
    total = budget - max(policy.reserve_s, budget * policy.reserve_share)
    if total < 2 * policy.min_hop_s:
        return HopBudget(candidates_s=0.0, total_s=max(total, 0.0))
    return HopBudget(
        candidates_s=max(total * policy.candidates_share, policy.min_hop_s), total_s=total
    )
