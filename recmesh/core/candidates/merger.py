"""Merges source results into one candidate list under per-source quotas."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recmesh.core.candidates.sources.base import SourceResult

MAX_SOURCES = 256  # source indices travel as one byte each

_NO_ITEMS = np.zeros(0, dtype=np.int64)
_NO_SOURCES = np.zeros(0, dtype=np.uint8)
_NO_SCORES = np.zeros(0, dtype=np.float32)


@dataclass(frozen=True)
class CandidateList:
    """A user's merged candidates: snapshot item indices, the finding source and its score.

    Invariants: the three arrays have the same length; items are distinct and none is in
    the user's history; `sources` names every source of the pipeline in pipeline order
    (also those that found nothing) and `source_indices` index into it. Order: see
    `QuotaMerger.merge`.
    """

    item_indices: NDArray[np.int64]
    source_indices: NDArray[np.uint8]
    source_scores: NDArray[np.float32]
    sources: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.item_indices.shape[0])


class QuotaMerger:
    """Gives each source a share of N, lets unused shares flow on, drops repeats.

    `sources` (in priority order) and `shares` (fractions of N, each >= 0, summing to 1)
    are fixed at construction.
    """

    def __init__(self, sources: tuple[str, ...], shares: Sequence[float]) -> None:
        if len(sources) != len(shares) or not sources:
            raise ValueError("need one share per source, and at least one source")
        if len(sources) > MAX_SOURCES or len(set(sources)) != len(sources):
            raise ValueError(f"source names must be distinct and at most {MAX_SOURCES}")
        if any(not s >= 0 for s in shares) or abs(sum(shares) - 1.0) > 1e-6:
            raise ValueError(f"shares must be >= 0 and sum to 1, got {list(shares)}")
        self.sources = sources
        self._shares = tuple(float(share) for share in shares)

    def quotas(self, n: int) -> tuple[int, ...]:
        """Each source's quota of n: floor(share * n), the remainder going to the largest
        fractional parts (earlier source first on ties). Sums to n."""
        exact = [share * n for share in self._shares]
        quotas = [math.floor(x) for x in exact]
        by_fraction = sorted(range(len(exact)), key=lambda s: (quotas[s] - exact[s], s))
        for s in by_fraction[: n - sum(quotas)]:
            quotas[s] += 1
        return tuple(quotas)

    def merge(
        self, results: Sequence[SourceResult], n: int, seen: NDArray[np.bool_]
    ) -> CandidateList:
        """Up to n distinct unseen items from `results` (one per source, in source order).

        Pass 1 takes, per source in priority order, up to its quota of the items no
        earlier source took. Pass 2 lets each source, again in priority order, take more
        of its remaining items until n are taken, so a source that found too little
        leaves its quota to the others. An item two sources found belongs to the one that
        took it first, with that source's score.

        Relies on each result holding distinct items (the SourceResult invariant); removes
        items repeated across sources and the user's consumed items (`seen`).

        Order: grouped by source in priority order, each group in its source's own
        best-first order. As the pipeline puts the most personal source first, the list
        used as-is ranks personal matches before popular fallbacks; a user without
        history gets the popularity source's order.
        """
        if len(results) != len(self.sources):
            raise ValueError(f"expected {len(self.sources)} results, got {len(results)}")
        taken = seen.copy()
        # Per source, the positions it took in its own list, per pass. A pass-2 chunk
        # lies after its pass-1 chunk (pass 1 took the first free positions), so the
        # chunks in pass order are in the source's own order.
        chunks: list[list[NDArray[np.intp]]] = [[] for _ in results]
        remaining = n
        for quotas in (self.quotas(n), None):
            for s, result in enumerate(results):
                if remaining == 0:
                    break
                limit = remaining if quotas is None else min(quotas[s], remaining)
                if limit == 0 or len(result) == 0:
                    continue
                free = np.flatnonzero(~taken[result.item_indices])[:limit]
                taken[result.item_indices[free]] = True
                chunks[s].append(free)
                remaining -= int(free.shape[0])
        items: list[NDArray[np.int64]] = []
        scores: list[NDArray[np.float32]] = []
        counts = np.zeros(len(results), dtype=np.int64)
        for s, result in enumerate(results):
            for free in chunks[s]:
                items.append(result.item_indices[free])
                scores.append(result.scores[free])
                counts[s] += free.shape[0]
        if not items:
            return CandidateList(_NO_ITEMS, _NO_SOURCES, _NO_SCORES, self.sources)
        return CandidateList(
            item_indices=np.concatenate(items).astype(np.int64, copy=False),
            source_indices=np.repeat(np.arange(len(results), dtype=np.uint8), counts),
            source_scores=np.concatenate(scores).astype(np.float32, copy=False),
            sources=self.sources,
        )
