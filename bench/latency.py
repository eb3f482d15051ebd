"""Latency percentiles as every benchmark here reports them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50 and p99, in milliseconds, of latencies given in seconds."""
    values = np.array(seconds) * 1000
    return {"p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99))}
