"""The refresh probe's metric: `ndcg@K`, 1 <= K <= 100. One parser for both sides."""

from __future__ import annotations

import re

_METRIC = re.compile(r"ndcg@([1-9][0-9]?|100)")


class ProbeMetricError(ValueError):
    """A metric name that is not ndcg@K with 1 <= K <= 100."""


def probe_k(metric: str) -> int:
    """K of `ndcg@K`; ProbeMetricError for anything else."""
    match = _METRIC.fullmatch(metric)
    if match is None:
        raise ProbeMetricError(f"{metric!r} is not ndcg@K with 1 <= K <= 100")
    return int(match.group(1))
