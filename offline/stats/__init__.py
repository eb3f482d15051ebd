"""Statistics over users: bootstrap intervals for one arm and paired deltas for two."""

from offline.stats.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DeltaEstimate,
    Interval,
    bootstrap_interval,
    paired_bootstrap,
)
from offline.stats.compare import arm_intervals, compare
from offline.stats.resampling import bootstrap_means, percentile_interval

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "DeltaEstimate",
    "Interval",
    "arm_intervals",
    "bootstrap_interval",
    "bootstrap_means",
    "compare",
    "paired_bootstrap",
    "percentile_interval",
]
