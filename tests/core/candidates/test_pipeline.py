"""CandidatePipeline: source order, known and unknown users, and real ml-latest-small data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from recmesh.core.candidates.pipeline import (
    CandidatePipeline,
    CandidatePipelineConfig,
    SourceStage,
    build_candidate_pipeline,
)
from recmesh.core.candidates.sources.base import SourceRequest, SourceResult
from recmesh.rpc.errors import InvalidArgumentError
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.config import SnapshotConfig
from recmesh.snapshot.history import seen_mask, user_history
from recmesh.snapshot.snapshot import Snapshot
from tests.snapshot.datasets import EXAMPLE_CONFIG, example_snapshot, ml_latest_small_or_skip


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


@pytest.fixture(scope="module")
def pipeline(snapshot: Snapshot) -> CandidatePipeline:
    return build_candidate_pipeline(snapshot)


def test_sources_run_most_personal_first(pipeline: CandidatePipeline) -> None:
    """Co-occurrence, then genre affinity, then popularity."""
    assert pipeline.sources == ("item_cooccurrence", "genre_affinity", "popularity")


def test_unknown_user_gets_the_popularity_path(pipeline: CandidatePipeline) -> None:
    """Every candidate comes from popularity, in popularity order; known_user is false."""
    candidates = pipeline.generate("no-such-user", 3)
    assert candidates.item_indices.tolist() == [1, 2, 0]
    assert set(candidates.source_indices.tolist()) == {2}
    assert not pipeline.known_user("no-such-user")


def test_user_with_demographics_but_no_history_gets_the_popularity_path(
    pipeline: CandidatePipeline,
) -> None:
    """User 5 is in the snapshot but has no interaction: not a known user."""
    assert not pipeline.known_user(5)
    assert set(pipeline.generate(5, 4).source_indices.tolist()) == {2}


def test_known_user_gets_unseen_candidates_personal_sources_first(
    pipeline: CandidatePipeline, snapshot: Snapshot
) -> None:
    """User 2 (saw 10, 20): items 30, 40 from co-occurrence; the list leads with them."""
    candidates = pipeline.generate("2", 10)
    assert pipeline.known_user("2")
    assert candidates.item_indices.tolist() == [2, 3]
    assert candidates.source_indices.tolist() == [0, 0]
    seen = seen_mask(snapshot, user_history(snapshot, snapshot.user_index(2)))
    assert not seen[candidates.item_indices].any()


def test_string_and_integer_ids_give_the_same_candidates(pipeline: CandidatePipeline) -> None:
    """"3" and 3 name the same user."""
    a, b = pipeline.generate("3", 5), pipeline.generate(3, 5)
    assert a.item_indices.tolist() == b.item_indices.tolist()


def test_n_below_one_is_an_invalid_argument(pipeline: CandidatePipeline) -> None:
    """The gRPC layer maps InvalidArgumentError to INVALID_ARGUMENT."""
    with pytest.raises(InvalidArgumentError, match="at least 1"):
        pipeline.generate(1, 0)


class _Fixed:
    """A source that returns the same items for everyone."""

    def __init__(self, name: str, items: list[int]) -> None:
        self.name = name
        self._items = np.array(items, dtype=np.int64)

    def generate(self, request: SourceRequest) -> SourceResult:
        items = self._items[~request.seen[self._items]][: request.n]
        return SourceResult(items, np.ones(items.shape[0], dtype=np.float32))


def test_pipeline_merges_its_stages_in_order_with_their_shares(snapshot: Snapshot) -> None:
    """Stages are data: two fixed sources at 0.5/0.5 each get half of n."""
    pipeline = CandidatePipeline(
        snapshot, [SourceStage(_Fixed("x", [4, 3]), 0.5), SourceStage(_Fixed("y", [2, 1]), 0.5)]
    )
    candidates = pipeline.generate(99, 2)
    assert pipeline.sources == ("x", "y")
    assert candidates.item_indices.tolist() == [4, 2]
    assert candidates.source_indices.tolist() == [0, 1]


def test_config_shares_reach_the_merger(snapshot: Snapshot) -> None:
    """With all of n given to popularity, a known user's one candidate is a popular item."""
    pipeline = build_candidate_pipeline(
        snapshot,
        CandidatePipelineConfig(
            item_cooccurrence_share=0.0, genre_affinity_share=0.0, popularity_share=1.0
        ),
    )
    assert pipeline.generate(2, 1).source_indices.tolist() == [2]


def test_real_user_gets_n_candidates_none_of_which_they_rated() -> None:
    """ml-latest-small: user 1 (232 ratings) gets 500 distinct unrated candidates, and an
    unknown user gets 500 popular ones."""
    dataset = ml_latest_small_or_skip()
    snapshot = build_snapshot(dataset, dataset.interactions, SnapshotConfig())
    pipeline = build_candidate_pipeline(snapshot)
    candidates = pipeline.generate("1", 500)
    rated = snapshot.item_indices_of(dataset.interactions.items[dataset.interactions.users == 1])
    assert len(candidates) == 500
    assert np.unique(candidates.item_indices).shape[0] == 500
    assert not np.isin(candidates.item_indices, rated).any()
    assert set(candidates.source_indices.tolist()) == {0, 1, 2}
    assert len(pipeline.generate("unknown", 500)) == 500


def test_a_snapshot_with_ease_adds_the_ease_source_second() -> None:
    """Co-occurrence, EASE, genre affinity, popularity; EASE takes ease_share of N: with
    share 0.5 and N = 1 user 2's one candidate is EASE's (co-occurrence's without it)."""
    config = dataclasses.replace(
        EXAMPLE_CONFIG, ease_neighbors_per_item=2, ease_l2=1.0, ease_share=0.5
    )
    pipeline = build_candidate_pipeline(example_snapshot(config))
    assert pipeline.sources == ("item_cooccurrence", "ease", "genre_affinity", "popularity")
    found = pipeline.generate(2, 1)
    assert found.item_indices.tolist() == [2]
    assert found.source_indices.tolist() == [1]
    without = build_candidate_pipeline(example_snapshot()).generate(2, 1)
    assert without.source_indices.tolist() == [0]
