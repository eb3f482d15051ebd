"""UserItemFeatures: genre match, neighbourhood similarity and user-vs-item differences."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.core.features.hydrators.user_item import FEATURES, UserItemFeatures
from recmesh.snapshot.history import neighbour_edges, sar_scores, user_history
from recmesh.snapshot.snapshot import Snapshot
from tests.core.features.batches import batch_for
from tests.snapshot.datasets import example_snapshot


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


def rows(snapshot: Snapshot, user_id: int, items: list[int]) -> list[dict[str, float]]:
    block = UserItemFeatures(snapshot).hydrate(batch_for(snapshot, user_id, items))
    assert block.shape == (len(items), len(FEATURES))
    return [dict(zip(UserItemFeatures.feature_names, r.tolist(), strict=True)) for r in block]


def test_neighbourhood_features_of_a_known_user(snapshot: Snapshot) -> None:
    """User 2 saw 10 and 20. Item 30: neighbour of both (J 0.25 and 2/3); item 40 of 20 only
    (J 1/3); item 50 of none."""
    item_30, item_40, item_50 = rows(snapshot, 2, [2, 3, 4])
    assert item_30["cross_max_similarity"] == pytest.approx(2 / 3)
    assert item_30["cross_mean_similarity"] == pytest.approx((0.25 + 2 / 3) / 2)
    assert item_30["cross_history_neighbours"] == 2
    assert item_40["cross_max_similarity"] == pytest.approx(1 / 3)
    assert item_40["cross_history_neighbours"] == 1
    assert (item_50["cross_max_similarity"], item_50["cross_sar_score"]) == (0, 0)


def test_sar_score_equals_the_candidate_sources_score(snapshot: Snapshot) -> None:
    """No skew: the feature is the co-occurrence source's score."""
    history = user_history(snapshot, snapshot.user_index(2))
    expected = sar_scores(snapshot, neighbour_edges(snapshot, history))[[2, 3]]
    got = [r["cross_sar_score"] for r in rows(snapshot, 2, [2, 3])]
    assert got == pytest.approx(expected.tolist(), rel=1e-6)


def test_genre_cosine_and_differences(snapshot: Snapshot) -> None:
    """User 4 (Action only, one 3-star rating of a 1990 film) and item 20 (Action+Comedy)."""
    (item_20,) = rows(snapshot, 4, [1])
    assert item_20["cross_genre_cosine"] == pytest.approx(1 / np.sqrt(2), rel=1e-6)
    assert item_20["cross_user_minus_item_rating"] == pytest.approx(3 - 11 / 3, rel=1e-6)
    assert item_20["cross_item_year_minus_user_year"] == pytest.approx(5.0)
    assert item_20["cross_item_minus_user_log_count"] == pytest.approx(0.0, abs=1e-6)


def test_unknown_year_gives_zero_year_difference(snapshot: Snapshot) -> None:
    """Item 30 has no release year."""
    (item_30,) = rows(snapshot, 4, [2])
    assert item_30["cross_item_year_minus_user_year"] == 0


def test_unknown_user_gets_the_documented_defaults(snapshot: Snapshot) -> None:
    """Zero similarity and genre match; differences taken against the global mean and zero."""
    (item_20,) = rows(snapshot, 99, [1])
    assert item_20["cross_genre_cosine"] == 0
    assert item_20["cross_sar_score"] == 0
    assert item_20["cross_user_minus_item_rating"] == pytest.approx(
        snapshot.global_mean_rating - 11 / 3, rel=1e-6
    )
    assert item_20["cross_item_minus_user_log_count"] == pytest.approx(np.log(4), rel=1e-6)


def test_repeated_candidates_get_identical_rows(snapshot: Snapshot) -> None:
    """Row r describes candidate r even when an item appears twice."""
    block = UserItemFeatures(snapshot).hydrate(batch_for(snapshot, 2, [2, 3, 2]))
    assert np.array_equal(block[0], block[2])


def test_latent_score_is_the_snapshot_factors_dot_product(snapshot: Snapshot) -> None:
    """User 2's score of items 30, 40, 50 is user_factors @ item_factors; the share divides
    by the best of the three."""
    user = snapshot.user_index(2)
    assert user is not None
    expected = snapshot.item_factors[[2, 3, 4]] @ snapshot.user_factors[user]
    got = rows(snapshot, 2, [2, 3, 4])
    assert [r["cross_latent_score"] for r in got] == pytest.approx(expected.tolist(), abs=1e-6)
    assert expected.max() > 0
    shares = [r["cross_latent_share"] for r in got]
    assert shares == pytest.approx((expected / expected.max()).tolist(), abs=1e-6)
    assert max(shares) == pytest.approx(1.0)


def test_latent_features_are_zero_for_unknown_users_and_empty_batches(
    snapshot: Snapshot,
) -> None:
    """No history, no factors: both latent columns are 0; an empty batch is a 0-row block."""
    (item_20,) = rows(snapshot, 99, [1])
    assert (item_20["cross_latent_score"], item_20["cross_latent_share"]) == (0, 0)
    empty = UserItemFeatures(snapshot).hydrate(batch_for(snapshot, 2, []))
    assert empty.shape == (0, len(FEATURES))
