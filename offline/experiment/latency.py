"""The challenger's scoring latency: the serving model's score on real feature matrices.

The only number of an experiment that is measured rather than computed: it varies
a little between runs and machines, so it is judged against an absolute budget
rather than bootstrapped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from offline.experiment.spec import LatencyBudget
from offline.training.groups import CandidateGroups

_WARMUP_CALLS = 20
ROUNDS = 3


class Scorer(Protocol):
    """What is timed: the serving `RankingModel.score` (one score per feature row)."""

    def score(self, features: NDArray[np.float32]) -> NDArray[np.float32]: ...


@dataclass(frozen=True)
class LatencyResult:
    """Milliseconds per `score` call of `candidates` rows, over `calls` timed calls."""

    p50_ms: float
    p99_ms: float
    calls: int
    candidates: int


def measure_latency(
    model: Scorer,
    groups: CandidateGroups,
    budget: LatencyBudget,
    clock: Callable[[], float] = time.perf_counter,
    rounds: int = ROUNDS,
) -> LatencyResult:
    """Times `rounds` rounds of `budget.calls` calls of `model.score`, cycling over the
    users' feature matrices, each cut or tiled to exactly `budget.candidates` rows, and
    keeps the round with the lowest p99: the model's cost, not a busy machine's hiccups."""
    matrices = _matrices(groups, budget.candidates)
    for i in range(_WARMUP_CALLS):
        model.score(matrices[i % len(matrices)])
    best: LatencyResult | None = None
    for _ in range(rounds):
        timings = np.empty(budget.calls, dtype=np.float64)
        for i in range(budget.calls):
            matrix = matrices[i % len(matrices)]
            start = clock()
            model.score(matrix)
            timings[i] = (clock() - start) * 1000.0
        result = LatencyResult(
            p50_ms=float(np.percentile(timings, 50)),
            p99_ms=float(np.percentile(timings, 99)),
            calls=budget.calls,
            candidates=budget.candidates,
        )
        if best is None or result.p99_ms < best.p99_ms:
            best = result
    if best is None:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    return best


def _matrices(groups: CandidateGroups, rows: int) -> list[NDArray[np.float32]]:
    matrices = []
    for g in range(len(groups.lists)):
        block = groups.rows(g)
        if block.shape[0] == 0:
            continue
        repeats = -(-rows // block.shape[0])
        matrices.append(np.ascontiguousarray(np.tile(block, (repeats, 1))[:rows]))
        if len(matrices) == 64:
            break
    if not matrices:
        raise ValueError("no user has candidates to time the model on")
    return matrices
