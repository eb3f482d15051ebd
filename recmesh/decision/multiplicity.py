"""Holm-Bonferroni over the success metrics: with several, the family-wise error holds.

With m success metrics, PASS on "any one improved" would be wrong more often than
1 - confidence. Holm's step-down procedure keeps that error at most
alpha = 1 - confidence: sort the metrics' p-values ascending, p(1) <= ... <= p(m);
the metric of rank k counts as improved while p(j) < alpha / (m - j + 1) for every
j <= k, and from the first that fails on, none does. Equivalently, the adjusted
p-value of rank k is max over j <= k of min(1, (m - j + 1) p(j)), and a metric
counts when its adjusted p-value is below alpha.

The p-value of a success metric is its paired-bootstrap p-value of an improvement
in its direction (`MetricEvidence.p_increase` or `p_decrease`): the level at which
its percentile interval just touches zero, so at one success metric the adjusted
rule is the plain one (interval on the better side of zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class HolmStep:
    """One success metric in Holm's order: `rank` 1 has the smallest p-value. `threshold`
    is alpha / (m - rank + 1); `adjusted_p` is Holm's adjusted p-value; `significant`
    is whether it is below alpha (the metric may count as improved)."""

    metric: str
    p_value: float
    rank: int
    threshold: float
    adjusted_p: float
    significant: bool


def holm(p_values: Sequence[tuple[str, float]], alpha: float) -> tuple[HolmStep, ...]:
    """Holm's step-down procedure over (metric, p-value) pairs at family-wise level
    `alpha`; the steps in rank order (ties keep the given order). Raises ValueError for
    a p-value or alpha outside [0, 1]."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    for metric, p in p_values:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{metric}: p-value must be in [0, 1], got {p!r}")
    m = len(p_values)
    ordered = sorted(p_values, key=lambda pair: pair[1])
    steps = []
    running = 0.0
    for index, (metric, p) in enumerate(ordered):
        running = max(running, min(1.0, (m - index) * p))
        steps.append(
            HolmStep(
                metric=metric,
                p_value=p,
                rank=index + 1,
                threshold=alpha / (m - index),
                adjusted_p=running,
                significant=running < alpha,
            )
        )
    return tuple(steps)
