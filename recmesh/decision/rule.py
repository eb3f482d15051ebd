"""What an experiment decides by: success metrics, guardrails, budgets, confidence, resamples."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

#: The interval level and the fewest bootstrap resamples a decision accepts, when a
#: spec does not say.
DEFAULT_CONFIDENCE = 0.95
DEFAULT_MIN_RESAMPLES = 1000


class Direction(Enum):
    """Which way a metric gets better."""

    HIGHER_IS_BETTER = "higher"
    LOWER_IS_BETTER = "lower"


class Multiplicity(Enum):
    """How a rule with several success metrics keeps its family-wise error.

    HOLM: a success metric counts as improved only when its Holm-adjusted p-value over
    all the success metrics is below 1 - confidence (`recmesh.decision.multiplicity`).
    NONE: any one interval clearing zero counts, the rule of experiments recorded before
    the adjustment (the control plane judges their evaluations as they were recorded).
    """

    HOLM = "holm"
    NONE = "none"


@dataclass(frozen=True)
class SuccessMetric:
    """A metric whose improvement would justify promoting the challenger."""

    metric: str
    direction: Direction = Direction.HIGHER_IS_BETTER


@dataclass(frozen=True)
class Guardrail:
    """A metric the challenger may not make worse by more than `margin` x |champion|.

    `margin` is a finite fraction >= 0 (0.02 for 2%); ValueError otherwise.
    """

    metric: str
    margin: float
    direction: Direction = Direction.HIGHER_IS_BETTER

    def __post_init__(self) -> None:
        if not (math.isfinite(self.margin) and self.margin >= 0.0):
            raise ValueError(f"guardrail {self.metric}: margin must be >= 0, got {self.margin!r}")


@dataclass(frozen=True)
class Budget:
    """An absolute ceiling on the challenger's own value of a metric (its point estimate
    must be <= `max`), such as `latency_p99_ms` <= 5. Judged on the value, not on an
    interval, so it needs no resamples. `max` is finite; ValueError otherwise."""

    metric: str
    max: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.max):
            raise ValueError(f"budget {self.metric}: max must be finite, got {self.max!r}")


@dataclass(frozen=True)
class DecisionRule:
    """Success metrics (at least one), guardrails and budgets, each metric named at most
    once per list; the confidence level every interval must have, and the fewest resamples
    behind the interval of each success and guardrail metric (0: no minimum);
    `multiplicity`, how several success metrics are adjusted (Holm unless the rule was
    recorded before the adjustment).

    Raises ValueError without a success metric, with a metric repeated, a confidence
    outside (0, 1] or a negative minimum.
    """

    success_metrics: tuple[SuccessMetric, ...]
    guardrails: tuple[Guardrail, ...] = ()
    budgets: tuple[Budget, ...] = ()
    confidence: float = DEFAULT_CONFIDENCE
    min_resamples: int = 0
    multiplicity: Multiplicity = Multiplicity.HOLM

    def __post_init__(self) -> None:
        if not self.success_metrics:
            raise ValueError("a decision rule needs at least one success metric")
        for kind, names in (
            ("success metric", [s.metric for s in self.success_metrics]),
            ("guardrail", [g.metric for g in self.guardrails]),
            ("budget", [b.metric for b in self.budgets]),
        ):
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise ValueError(f"{kind} named more than once: {', '.join(repeated)}")
        if not (math.isfinite(self.confidence) and 0.0 < self.confidence <= 1.0):
            raise ValueError(f"confidence must be in (0, 1], got {self.confidence!r}")
        if self.min_resamples < 0:
            raise ValueError(f"min_resamples must be >= 0, got {self.min_resamples}")

    @property
    def alpha(self) -> float:
        """The family-wise error a PASS may have: 1 - confidence."""
        return 1.0 - self.confidence

    @property
    def holm_adjusted(self) -> bool:
        """Whether the success metrics are adjusted: Holm, and more than one of them."""
        return self.multiplicity is Multiplicity.HOLM and len(self.success_metrics) > 1

    @property
    def interval_metrics(self) -> tuple[str, ...]:
        """The metrics judged on an interval (success metrics, then guardrails), once each."""
        names = [s.metric for s in self.success_metrics] + [g.metric for g in self.guardrails]
        return tuple(dict.fromkeys(names))

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric the rule names, in rule order, once each."""
        return tuple(dict.fromkeys((*self.interval_metrics, *(b.metric for b in self.budgets))))
