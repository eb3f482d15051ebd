"""SourceFeatures: finding source one-hot, score, score share, positions and ranks."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.core.features.hydrators.source import DEFAULT_SOURCE_NAMES, SourceFeatures
from tests.core.features.batches import batch_for
from tests.snapshot.datasets import example_snapshot


def features(
    source_indices: list[int], scores: list[float], sources: tuple[str, ...]
) -> dict[str, list[float]]:
    snapshot = example_snapshot()
    hydrator = SourceFeatures()
    items = list(range(len(scores)))
    block = hydrator.hydrate(batch_for(snapshot, 1, items, source_indices, scores, sources))
    assert block.shape == (len(scores), len(hydrator.feature_names))
    return {name: block[:, j].tolist() for j, name in enumerate(hydrator.feature_names)}


def test_feature_names_follow_the_source_names() -> None:
    """One one-hot column per known source, in order, then the five score/position features."""
    assert SourceFeatures(("a", "b")).feature_names == (
        "source_is_a",
        "source_is_b",
        "source_score",
        "source_score_share",
        "source_position",
        "source_position_fraction",
        "source_rank",
    )
    assert DEFAULT_SOURCE_NAMES == ("item_cooccurrence", "genre_affinity", "popularity")


def test_one_hot_maps_by_name_not_by_wire_index() -> None:
    """A candidate set naming its sources in another order still lights the right column."""
    result = features([0, 1], [1.0, 1.0], ("popularity", "item_cooccurrence"))
    assert result["source_is_popularity"] == [1, 0]
    assert result["source_is_item_cooccurrence"] == [0, 1]
    assert result["source_is_genre_affinity"] == [0, 0]


def test_unknown_source_names_light_no_column() -> None:
    """A source this schema does not know gets all-zero one-hot columns."""
    result = features([0], [1.0], ("brand_new",))
    assert [result[f"source_is_{s}"][0] for s in DEFAULT_SOURCE_NAMES] == [0, 0, 0]


def test_scores_shares_positions_and_ranks_on_interleaved_sources() -> None:
    """Sources interleave 0, 1, 0, 1, 0: ranks count within each source, shares divide by
    the source's best score."""
    result = features([0, 1, 0, 1, 0], [4.0, 10.0, 2.0, 5.0, 1.0], DEFAULT_SOURCE_NAMES)
    assert result["source_score"] == [4, 10, 2, 5, 1]
    assert result["source_score_share"] == pytest.approx([1, 1, 0.5, 0.5, 0.25])
    assert result["source_position"] == [0, 1, 2, 3, 4]
    assert result["source_position_fraction"] == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])
    assert result["source_rank"] == [0, 0, 1, 1, 2]


def test_share_is_zero_when_the_best_score_is_not_positive() -> None:
    """Popularity scores of 0 (long-decayed items) give share 0, not NaN."""
    result = features([2, 2], [0.0, 0.0], DEFAULT_SOURCE_NAMES)
    assert result["source_score_share"] == [0, 0]


def test_share_stays_in_unit_interval_for_negative_scores() -> None:
    """A negative score under a tiny positive best cannot overflow."""
    result = features([0, 0], [1e-30, -3e38], DEFAULT_SOURCE_NAMES)
    assert result["source_score_share"] == [1, 0]
    assert np.isfinite(result["source_score_share"]).all()


def test_empty_batch_gives_an_empty_block() -> None:
    """Zero candidates, zero rows."""
    assert features([], [], DEFAULT_SOURCE_NAMES)["source_score"] == []
