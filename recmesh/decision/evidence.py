"""What the decision reads for one metric: both arms' values and the paired delta's interval."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


class MetricEvidence(Protocol):
    """One metric's evidence. `delta` = challenger - champion, [ci_low, ci_high] its interval
    at `confidence` from `resamples` bootstrap resamples (0 for a measured value without
    an interval, such as a latency)."""

    @property
    def champion(self) -> float: ...

    @property
    def challenger(self) -> float: ...

    @property
    def delta(self) -> float: ...

    @property
    def ci_low(self) -> float: ...

    @property
    def ci_high(self) -> float: ...

    @property
    def confidence(self) -> float: ...

    @property
    def resamples(self) -> int: ...


@dataclass(frozen=True)
class Evidence:
    """A plain MetricEvidence (the control plane builds these from an Evaluation)."""

    champion: float
    challenger: float
    delta: float
    ci_low: float
    ci_high: float
    confidence: float
    resamples: int


def relative_change(evidence: MetricEvidence) -> float:
    """delta / |champion|, nan when the champion's value is 0."""
    if evidence.champion == 0.0:
        return math.nan
    return evidence.delta / abs(evidence.champion)
