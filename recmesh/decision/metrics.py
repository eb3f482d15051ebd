"""Which way each metric gets better: lower for popularity and latency, higher for the rest."""

from __future__ import annotations

from recmesh.decision.rule import Direction

LATENCY_METRIC = "latency_p99_ms"
_LOWER_IS_BETTER = frozenset({"popularity", LATENCY_METRIC})


def metric_direction(metric: str) -> Direction:
    """Which way `metric` gets better (accuracy and beyond-accuracy metrics: higher)."""
    return Direction.LOWER_IS_BETTER if metric in _LOWER_IS_BETTER else Direction.HIGHER_IS_BETTER
