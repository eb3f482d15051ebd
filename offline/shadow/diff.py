"""The quality diff of a challenger shadowing the champion on the same requests.

Per request and overall, with percentile bootstrap intervals from resampling
requests (`offline.stats`):

- agreement of the two lists: overlap@k and rank-biased overlap (`lists`);
- novelty to the champion: the share of the challenger's items that the champion
  never showed anywhere in the log (per request, and over distinct items);
- score shift: the two-sample Kolmogorov-Smirnov statistic between the arms' pooled
  scores, their 10/50/90% quantiles, and the paired delta of the mean score per list;
- catalogue coverage (distinct items shown / catalogue size) and mean popularity
  (training rows per item, `ItemPopularity`) of what each arm would show;
- latency and error rate of each arm;
- hit rate of each arm's list, over the requests whose user consumed something
  after the request's time (within `horizon_s` when given).

List measures are taken over the requests that both arms answered (no error
flag): a failed arm's empty list says nothing about its ranking, and its failure
is counted in the error rate. Latency and error rate are over every pair.
Deltas are challenger minus champion, paired by request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from offline.metrics.beyond import ItemPopularity
from offline.shadow.consumed import ConsumedAfter
from offline.shadow.lists import DEFAULT_PERSISTENCE, hit, overlap_at_k, rank_biased_overlap
from offline.shadow.records import ARMS, CHALLENGER, CHAMPION, ArmImpression, ShadowPair
from offline.stats.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DeltaEstimate,
    Interval,
    bootstrap_interval,
    paired_bootstrap,
)
from recmesh.data.dataset import Interactions

#: The score quantiles reported per arm.
SCORE_QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class RequestDiff:
    """One request's measures; the list measures are None unless both arms answered, the
    hits None unless the user consumed something after the request."""

    request_id: str
    user_id: str
    overlap: float | None
    rbo: float | None
    novel_share: float | None
    latency_ms: Mapping[str, float]
    error: Mapping[str, bool]
    hit: Mapping[str, float] | None


@dataclass(frozen=True)
class ShadowDiff:
    """The diff over all pairs (see the module docstring). `requests` pairs in all,
    `compared` of them answered by both arms, `hit_requests` of those with a later
    consumption. A measure with no request to take it from is None."""

    k: int
    persistence: float
    confidence: float
    requests: int
    compared: int
    hit_requests: int
    per_request: tuple[RequestDiff, ...]
    overlap: Interval | None
    rbo: Interval | None
    novel_share: Interval | None
    novel_item_share: float | None
    score_ks: float | None
    score_quantiles: Mapping[str, tuple[float, ...]]
    mean_score: DeltaEstimate | None
    coverage: Mapping[str, float]
    popularity: DeltaEstimate | None
    latency_ms: DeltaEstimate
    latency_p99_ms: Mapping[str, float]
    error_rate: DeltaEstimate
    hit_rate: DeltaEstimate | None
    #: Every score each arm showed in the compared requests, for the report's plot.
    scores: Mapping[str, NDArray[np.float64]]


def shadow_diff(
    pairs: Sequence[ShadowPair],
    *,
    k: int,
    catalogue_size: int,
    popularity: ItemPopularity,
    interactions: Interactions | None = None,
    horizon_s: float | None = None,
    persistence: float = DEFAULT_PERSISTENCE,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
) -> ShadowDiff:
    """The diff of `pairs` at cutoff `k` (only each list's first k items count).

    Raises ValueError without pairs, for k < 1 or catalogue_size < 1. Deterministic
    for a seed.
    """
    if not pairs:
        raise ValueError("no shadowed request to compare")
    if k < 1 or catalogue_size < 1:
        raise ValueError(f"k and catalogue_size must be >= 1, got {k} and {catalogue_size}")
    consumed = ConsumedAfter(interactions) if interactions is not None else None
    compared = [pair for pair in pairs if pair.answered]
    champion_ever = {item for pair in pairs for item in pair.champion.item_ids(k)}
    per_request = tuple(
        _request_diff(pair, k, persistence, champion_ever, consumed, horizon_s) for pair in pairs
    )
    hits = [r.hit for r in per_request if r.hit is not None]

    def interval(values: Sequence[float]) -> Interval | None:
        if not values:
            return None
        array = np.asarray(values, dtype=np.float64)
        return bootstrap_interval(array, seed=seed, resamples=resamples, confidence=confidence)

    def paired(challenger: Sequence[float], champion: Sequence[float]) -> DeltaEstimate:
        return paired_bootstrap(
            np.asarray(challenger, dtype=np.float64),
            np.asarray(champion, dtype=np.float64),
            seed=seed,
            resamples=resamples,
            confidence=confidence,
        )

    def by_arm(
        rows: Sequence[ShadowPair], measure: Callable[[ArmImpression], float]
    ) -> DeltaEstimate:
        return paired([measure(p.challenger) for p in rows], [measure(p.champion) for p in rows])

    def delta(
        rows: Sequence[ShadowPair], measure: Callable[[ArmImpression], float]
    ) -> DeltaEstimate | None:
        return by_arm(rows, measure) if rows else None

    def popularity_of(arm: ArmImpression) -> float:
        ids = arm.item_ids(k)
        return float(popularity.lookup(np.array(ids, dtype=np.int64)).mean()) if ids else 0.0

    scores = {arm: _scores(compared, arm, k) for arm in ARMS}
    challenger_items = {item for pair in compared for item in pair.challenger.item_ids(k)}
    return ShadowDiff(
        k=k,
        persistence=persistence,
        confidence=confidence,
        requests=len(pairs),
        compared=len(compared),
        hit_requests=len(hits),
        per_request=per_request,
        overlap=interval([r.overlap for r in per_request if r.overlap is not None]),
        rbo=interval([r.rbo for r in per_request if r.rbo is not None]),
        novel_share=interval([r.novel_share for r in per_request if r.novel_share is not None]),
        novel_item_share=len(challenger_items - champion_ever) / len(challenger_items)
        if challenger_items
        else None,
        score_ks=float(stats.ks_2samp(scores[CHAMPION], scores[CHALLENGER]).statistic)
        if all(len(s) for s in scores.values())
        else None,
        score_quantiles={
            arm: tuple(float(q) for q in np.quantile(s, SCORE_QUANTILES))
            for arm, s in scores.items()
            if len(s)
        },
        mean_score=delta(
            [p for p in compared if p.champion.items and p.challenger.items], _mean_score(k)
        ),
        coverage={
            arm: len({i for p in compared for i in _arm(p, arm).item_ids(k)}) / catalogue_size
            for arm in ARMS
        },
        popularity=delta(compared, popularity_of),
        latency_ms=by_arm(pairs, lambda arm: arm.latency_ms),
        latency_p99_ms={
            arm: float(np.quantile([_arm(p, arm).latency_ms for p in pairs], 0.99)) for arm in ARMS
        },
        error_rate=by_arm(pairs, lambda arm: float(arm.error)),
        hit_rate=paired([h[CHALLENGER] for h in hits], [h[CHAMPION] for h in hits])
        if hits
        else None,
        scores=scores,
    )


def _request_diff(
    pair: ShadowPair,
    k: int,
    persistence: float,
    champion_ever: set[int],
    consumed: ConsumedAfter | None,
    horizon_s: float | None,
) -> RequestDiff:
    champion, challenger = pair.champion.item_ids(k), pair.challenger.item_ids(k)
    later = (
        consumed.items(pair.champion.user_id, pair.champion.at, horizon_s)
        if consumed is not None and pair.answered
        else frozenset()
    )
    return RequestDiff(
        request_id=pair.request_id,
        user_id=pair.champion.user_id,
        overlap=overlap_at_k(champion, challenger, k) if pair.answered else None,
        rbo=rank_biased_overlap(champion, challenger, k, persistence) if pair.answered else None,
        novel_share=sum(item not in champion_ever for item in challenger) / len(challenger)
        if pair.answered and challenger
        else None,
        latency_ms={arm: _arm(pair, arm).latency_ms for arm in ARMS},
        error={arm: _arm(pair, arm).error for arm in ARMS},
        hit={CHAMPION: hit(champion, later, k), CHALLENGER: hit(challenger, later, k)}
        if later
        else None,
    )


def _mean_score(k: int) -> Callable[[ArmImpression], float]:
    return lambda arm: float(np.mean([item.score for item in arm.items[:k]]))


def _scores(pairs: Sequence[ShadowPair], arm: str, k: int) -> NDArray[np.float64]:
    return np.array(
        [item.score for pair in pairs for item in _arm(pair, arm).items[:k]], dtype=np.float64
    )


def _arm(pair: ShadowPair, arm: str) -> ArmImpression:
    return pair.champion if arm == CHAMPION else pair.challenger
