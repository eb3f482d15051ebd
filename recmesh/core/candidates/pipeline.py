"""The candidate pipeline: the ordered sources and their quotas, built in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recmesh.core.candidates.merger import CandidateList, QuotaMerger
from recmesh.core.candidates.sources.base import CandidateSource, SourceRequest
from recmesh.core.candidates.sources.ease import EaseSource
from recmesh.core.candidates.sources.genre_affinity import GenreAffinitySource
from recmesh.core.candidates.sources.item_cooccurrence import ItemCooccurrenceSource
from recmesh.core.candidates.sources.popularity import PopularitySource
from recmesh.rpc.errors import InvalidArgumentError
from recmesh.snapshot.history import seen_mask, user_history
from recmesh.snapshot.snapshot import Snapshot
from recmesh.wire.limits import DEFAULT_CANDIDATES


@dataclass(frozen=True)
class CandidatePipelineConfig:
    """Each source's share of the N candidates (fractions summing to 1). A snapshot built
    with EASE (`SnapshotConfig.ease_neighbors_per_item` > 0) adds the "ease" source with
    its `ease_share`, and these shares are scaled by 1 - ease_share."""

    item_cooccurrence_share: float = 0.6
    genre_affinity_share: float = 0.2
    popularity_share: float = 0.2


@dataclass(frozen=True)
class SourceStage:
    """One source of a pipeline and its share of N."""

    source: CandidateSource
    share: float


class CandidatePipeline:
    """Asks every source for up to N unseen items and merges them by quota.

    Sources run in the stages' order, which is also the merger's priority order and the
    order of the merged list. An unknown user id, or a known user without history, gets
    the normal answer of the sources that need no history (popularity). Keeps no
    per-call state, so threads may share one instance.
    """

    def __init__(self, snapshot: Snapshot, stages: Sequence[SourceStage]) -> None:
        self._snapshot = snapshot
        self._sources = tuple(stage.source for stage in stages)
        self._merger = QuotaMerger(
            tuple(source.name for source in self._sources), [stage.share for stage in stages]
        )

    @property
    def sources(self) -> tuple[str, ...]:
        """The source names, in pipeline order (a CandidateList's `sources`)."""
        return self._merger.sources

    def known_user(self, user_id: str | int) -> bool:
        """True when the snapshot has training history for this user."""
        return self._snapshot.has_history(self._snapshot.user_index(user_id))

    def generate(self, user_id: str | int, n: int = DEFAULT_CANDIDATES) -> CandidateList:
        """Up to n candidates the user has not consumed; raises InvalidArgumentError if n < 1.

        Fewer than n only when the sources together find fewer unseen items (at most the
        number of items anyone interacted with, minus the user's history).
        """
        if n < 1:
            raise InvalidArgumentError(f"the number of candidates must be at least 1, not {n}")
        user_index = self._snapshot.user_index(user_id)
        history = user_history(self._snapshot, user_index)
        seen = seen_mask(self._snapshot, history)
        request = SourceRequest(user_index=user_index, history=history, seen=seen, n=n)
        results = [source.generate(request) for source in self._sources]
        return self._merger.merge(results, n, seen)

    def generate_batch(
        self, requests: Sequence[tuple[str | int, int]]
    ) -> list[tuple[CandidateList, bool]]:
        """`generate` and `known_user` for several (user id, n) requests in one pass over
        the same sources and merger: each user's index, history and seen mask are looked
        up once for both answers. Raises InvalidArgumentError if any n < 1 (callers
        check each request's n first)."""
        out: list[tuple[CandidateList, bool]] = []
        sources = self._sources
        merge = self._merger.merge
        snapshot = self._snapshot
        for user_id, n in requests:
            if n < 1:
                raise InvalidArgumentError(f"the number of candidates must be at least 1, not {n}")
            user_index = snapshot.user_index(user_id)
            history = user_history(snapshot, user_index)
            seen = seen_mask(snapshot, history)
            request = SourceRequest(user_index=user_index, history=history, seen=seen, n=n)
            found = merge([source.generate(request) for source in sources], n, seen)
            out.append((found, snapshot.has_history(user_index)))
        return out


def build_candidate_pipeline(
    snapshot: Snapshot, config: CandidatePipelineConfig | None = None
) -> CandidatePipeline:
    """The serving candidate pipeline over a snapshot; the one place its sources are listed."""
    config = config or CandidatePipelineConfig()
    ease = snapshot.config.ease_share if snapshot.config.ease_neighbors_per_item > 0 else 0.0
    rest = 1.0 - ease
    stages = [
        # Most personal first: co-occurrence with the user's own history is the most
        # precise source, and leading the merged order it makes the list a SAR ranking
        # when it is served as-is (ranking down).
        SourceStage(ItemCooccurrenceSource(snapshot), config.item_cooccurrence_share * rest),
        # Personal but broad: genre taste reaches items no neighbour list holds.
        SourceStage(GenreAffinitySource(snapshot), config.genre_affinity_share * rest),
        # Non-personal last: answers every user (unknown users get only this) and takes
        # over every quota the personal sources leave unused.
        SourceStage(PopularitySource(snapshot), config.popularity_share * rest),
    ]
    if ease:
        # EASE when the snapshot holds it: personal and precise, so right after
        # co-occurrence, which still leads (the list served as-is starts as SAR's).
        stages.insert(1, SourceStage(EaseSource(snapshot), ease))
    return CandidatePipeline(snapshot, stages)
