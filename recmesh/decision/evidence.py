"""What the decision reads for one metric: both arms' values, the paired delta's interval
and its bootstrap p-values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from recmesh.decision.rule import Direction


class MetricEvidence(Protocol):
    """One metric's evidence. `delta` = challenger - champion, [ci_low, ci_high] its interval
    at `confidence` from `resamples` bootstrap resamples (0 for a measured value without
    an interval, such as a latency).

    `p_increase` is the paired-bootstrap p-value that the delta is above zero: the
    1 - confidence at which the percentile interval's low end is just zero, so the
    interval at confidence c lies wholly above zero exactly when p_increase < 1 - c.
    `p_decrease` is the same below zero. None when the evidence has none (a measured
    value, or evidence recorded before p-values were).
    """

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

    @property
    def p_increase(self) -> float | None: ...

    @property
    def p_decrease(self) -> float | None: ...


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
    p_increase: float | None = None
    p_decrease: float | None = None


def improvement_p(evidence: MetricEvidence, direction: Direction) -> float | None:
    """The p-value of an improvement in `direction`: p_increase when higher is better,
    p_decrease when lower is."""
    if direction is Direction.HIGHER_IS_BETTER:
        return evidence.p_increase
    return evidence.p_decrease


def relative_change(evidence: MetricEvidence) -> float:
    """delta / |champion|, nan when the champion's value is 0."""
    if evidence.champion == 0.0:
        return math.nan
    return evidence.delta / abs(evidence.champion)
