"""Which way each metric gets better: the one table of known directions.

Lower is better for popularity (the mean popularity of what is recommended) and the
scoring latency; higher for every accuracy metric and for coverage, novelty and
diversity. A metric with a cutoff is looked up by its name before the `@`
(`ndcg@10` is an `ndcg`).
"""

from __future__ import annotations

from recmesh.decision.rule import Direction

LATENCY_METRIC = "latency_p99_ms"

_HIGHER = Direction.HIGHER_IS_BETTER
_LOWER = Direction.LOWER_IS_BETTER
#: Every metric recmesh measures, by name (before any `@k`), and which way it gets better.
KNOWN_DIRECTIONS: dict[str, Direction] = {
    "precision": _HIGHER,
    "recall": _HIGHER,
    "ndcg": _HIGHER,
    "hit_rate": _HIGHER,
    "mrr": _HIGHER,
    "map": _HIGHER,
    "coverage": _HIGHER,
    "novelty": _HIGHER,
    "diversity": _HIGHER,
    "popularity": _LOWER,
    LATENCY_METRIC: _LOWER,
}


def known_direction(metric: str) -> Direction | None:
    """Which way `metric` gets better, None for a metric the table does not know."""
    return KNOWN_DIRECTIONS.get(metric.partition("@")[0])


def metric_direction(metric: str) -> Direction:
    """Which way `metric` gets better (higher for a metric the table does not know)."""
    return known_direction(metric) or Direction.HIGHER_IS_BETTER


def contradicted_direction(metric: str, declared: Direction) -> str | None:
    """Why `declared` is the wrong way for `metric` (naming the metric and its known
    direction), or None when it agrees or the metric is not in the table."""
    known = known_direction(metric)
    if known is None or known is declared:
        return None
    return (
        f"{metric} gets better {known.value}, so a guardrail on it cannot declare "
        f"'{declared.value} is better'"
    )
