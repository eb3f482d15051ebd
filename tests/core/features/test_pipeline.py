"""FeaturePipeline: schema, row order, defaults, validation, batches and real data."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from numpy.typing import NDArray

from recmesh.core.candidates.pipeline import CandidatePipeline, build_candidate_pipeline
from recmesh.core.features.errors import FeatureContractError, InvalidCandidatesError
from recmesh.core.features.hydrators.base import FeatureBatch
from recmesh.core.features.hydrators.item import ItemFeatures
from recmesh.core.features.pipeline import (
    FeaturePipeline,
    FeaturePipelineConfig,
    UserCandidates,
    build_feature_pipeline,
)
from recmesh.rpc.errors import InvalidArgumentError
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.config import SnapshotConfig
from recmesh.snapshot.snapshot import Snapshot
from tests.snapshot.datasets import example_snapshot, ml_latest_small_or_skip


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


@pytest.fixture(scope="module")
def pipeline(snapshot: Snapshot) -> FeaturePipeline:
    return build_feature_pipeline(snapshot)


@pytest.fixture(scope="module")
def candidates(snapshot: Snapshot) -> CandidatePipeline:
    return build_candidate_pipeline(snapshot)


def compute_for(
    pipeline: FeaturePipeline, candidates: CandidatePipeline, user_id: str | int, n: int = 10
) -> NDArray[np.float32]:
    found = candidates.generate(user_id, n)
    return pipeline.compute(
        user_id, found.item_indices, found.source_indices, found.source_scores, found.sources
    )


def test_schema_has_at_least_thirty_distinct_features(pipeline: FeaturePipeline) -> None:
    """User, item, cross and source groups, in that order."""
    names = pipeline.schema.names
    assert len(names) >= 30
    assert names[0].startswith("user_")
    assert names[-1].startswith("source_")
    assert len(set(names)) == len(names)


def test_schema_fingerprint_is_pinned(pipeline: FeaturePipeline) -> None:
    """A feature rename, addition or reorder must be deliberate: update this pin with it."""
    assert len(pipeline.schema) == 45
    assert pipeline.schema.fingerprint == (
        "b0610fda0188e93e5f75d3ab21d697e3bc178180d3df073e54fcaf98ffa56d3d"
    )


def test_one_finite_c_contiguous_float32_row_per_candidate(
    pipeline: FeaturePipeline, candidates: CandidatePipeline
) -> None:
    """For known, history-less and unknown users alike."""
    for user_id in (1, 2, 3, 4, 5, "nobody"):
        matrix = compute_for(pipeline, candidates, user_id)
        assert matrix.dtype == np.float32
        assert matrix.flags.c_contiguous
        assert matrix.shape == (len(candidates.generate(user_id, 10)), len(pipeline.schema))
        assert np.isfinite(matrix).all()


def test_rows_follow_the_candidate_order(
    pipeline: FeaturePipeline, candidates: CandidatePipeline
) -> None:
    """Permuting the candidates permutes the rows (except the position features)."""
    found = candidates.generate(2, 10)
    order = np.arange(len(found))[::-1]
    forward = pipeline.compute(
        2, found.item_indices, found.source_indices, found.source_scores, found.sources
    )
    backward = pipeline.compute(
        2,
        found.item_indices[order],
        found.source_indices[order],
        found.source_scores[order],
        found.sources,
    )
    keep = [j for j, name in enumerate(pipeline.schema.names)
            if name not in {"source_position", "source_position_fraction", "source_rank"}]
    assert np.array_equal(forward[order][:, keep], backward[:, keep])


def test_unknown_user_rows_use_user_defaults(
    pipeline: FeaturePipeline, candidates: CandidatePipeline
) -> None:
    """An unknown id is no error: its user columns hold the documented defaults."""
    matrix = compute_for(pipeline, candidates, "nobody")
    column = pipeline.schema.names.index("user_has_history")
    assert set(matrix[:, column].tolist()) == {0.0}


def test_empty_candidate_list_gives_zero_rows(pipeline: FeaturePipeline) -> None:
    """No candidates, a (0, n_features) matrix."""
    empty = pipeline.compute(
        1,
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.uint8),
        np.zeros(0, dtype=np.float32),
        ("popularity",),
    )
    assert empty.shape == (0, len(pipeline.schema))


@pytest.mark.parametrize(
    ("items", "sources", "scores", "message"),
    [
        ([0, 1], [0], [1.0, 1.0], "disagree"),
        ([0, 5], [0, 0], [1.0, 1.0], "catalogue"),
        ([0, -1], [0, 0], [1.0, 1.0], "catalogue"),
        ([0, 1], [0, 3], [1.0, 1.0], "names no source"),
        ([0, 1], [0, 0], [1.0, float("nan")], "finite"),
    ],
)
def test_invalid_candidates_are_an_invalid_argument(
    pipeline: FeaturePipeline,
    items: list[int],
    sources: list[int],
    scores: list[float],
    message: str,
) -> None:
    """Mismatched lengths, items outside the catalogue, unnamed sources, NaN scores."""
    with pytest.raises(InvalidCandidatesError, match=message) as raised:
        pipeline.compute(
            1,
            np.array(items, dtype=np.int64),
            np.array(sources, dtype=np.uint8),
            np.array(scores, dtype=np.float32),
            ("popularity", "genre_affinity"),
        )
    assert isinstance(raised.value, InvalidArgumentError)


class _Broken:
    """A hydrator that breaks its contract in the way it is told to."""

    name = "broken"
    feature_names: ClassVar[tuple[str, ...]] = ("broken_value",)

    def __init__(self, value: float, rows_short: int = 0) -> None:
        self._value = value
        self._rows_short = rows_short

    def hydrate(self, batch: FeatureBatch) -> NDArray[np.float32]:
        return np.full((len(batch) - self._rows_short, 1), self._value, dtype=np.float32)


@pytest.mark.parametrize(
    ("hydrator", "message"),
    [(_Broken(float("inf")), "not finite"), (_Broken(1.0, rows_short=1), "returned shape")],
)
def test_hydrator_breaking_its_contract_fails_loudly(
    snapshot: Snapshot, hydrator: _Broken, message: str
) -> None:
    """Non-finite values or a wrong row count are programmer errors, never served."""
    pipeline = FeaturePipeline(snapshot, [ItemFeatures(snapshot), hydrator])
    with pytest.raises(FeatureContractError, match=message):
        pipeline.compute(
            1,
            np.array([0, 1], dtype=np.int64),
            np.zeros(2, dtype=np.uint8),
            np.ones(2, dtype=np.float32),
            ("popularity",),
        )


def test_batch_equals_per_user_computation(
    pipeline: FeaturePipeline, candidates: CandidatePipeline
) -> None:
    """compute_batch stacks each user's rows at its offset, identical to compute."""
    groups = []
    for user_id in (1, "nobody", 3, 5):
        found = candidates.generate(user_id, 10)
        groups.append(
            UserCandidates(
                user_id, found.item_indices, found.source_indices, found.source_scores,
                found.sources,
            )
        )
    batch = pipeline.compute_batch(groups)
    assert batch.offsets.tolist()[0] == 0
    assert batch.group_sizes.tolist() == [len(g.item_indices) for g in groups]
    for g, group in enumerate(groups):
        start, stop = batch.offsets[g], batch.offsets[g + 1]
        expected = pipeline.compute(
            group.user_id, group.item_indices, group.source_indices, group.source_scores,
            group.sources,
        )
        assert np.array_equal(batch.matrix[start:stop], expected)


def test_source_one_hots_cover_the_candidate_pipelines_sources(
    snapshot: Snapshot, candidates: CandidatePipeline
) -> None:
    """Every candidate source has its one-hot column, in pipeline order."""
    assert FeaturePipelineConfig().source_names == candidates.sources
    names = build_feature_pipeline(snapshot).schema.names
    assert all(f"source_is_{source}" in names for source in candidates.sources)


def test_real_data_features_are_finite_for_many_users() -> None:
    """ml-latest-small: 500 candidates each for 50 users give finite rows in candidate order."""
    dataset = ml_latest_small_or_skip()
    snapshot = build_snapshot(dataset, dataset.interactions, SnapshotConfig())
    candidates = build_candidate_pipeline(snapshot)
    pipeline = build_feature_pipeline(snapshot)
    groups = []
    for user_id in snapshot.user_ids[:50].tolist():
        found = candidates.generate(user_id, 500)
        groups.append(
            UserCandidates(
                user_id, found.item_indices, found.source_indices, found.source_scores,
                found.sources,
            )
        )
    batch = pipeline.compute_batch(groups)
    assert batch.matrix.shape == (50 * 500, len(pipeline.schema))
    assert np.isfinite(batch.matrix).all()
    item_column = pipeline.schema.names.index("item_n_interactions")
    first = groups[0]
    assert np.array_equal(
        batch.matrix[:500, item_column], snapshot.item_counts[first.item_indices]
    )
