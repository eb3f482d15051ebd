"""ItemFeatures: one row per candidate item, in candidate order."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.core.features.hydrators.item import FEATURES, RATING_PRIOR_WEIGHT, ItemFeatures
from recmesh.snapshot.snapshot import Snapshot
from tests.core.features.batches import batch_for
from tests.snapshot.datasets import example_snapshot


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


def rows(snapshot: Snapshot, items: list[int]) -> list[dict[str, float]]:
    block = ItemFeatures(snapshot).hydrate(batch_for(snapshot, 1, items))
    assert block.shape == (len(items), len(FEATURES))
    return [dict(zip(ItemFeatures.feature_names, r.tolist(), strict=True)) for r in block]


def test_item_row_values(snapshot: Snapshot) -> None:
    """Item 20: three ratings (4, 2, 5), first 31 and last 2 days ago, two recent, one prior."""
    (item,) = rows(snapshot, [1])
    g = snapshot.global_mean_rating
    assert item["item_n_interactions"] == 3
    assert item["item_mean_rating"] == pytest.approx(11 / 3)
    assert item["item_shrunk_mean_rating"] == pytest.approx(
        (11 + RATING_PRIOR_WEIGHT * g) / (3 + RATING_PRIOR_WEIGHT), rel=1e-6
    )
    assert item["item_days_since_first"] == pytest.approx(31.0)
    assert item["item_days_since_last"] == pytest.approx(2.0)
    assert item["item_release_year"] == 1995
    assert item["item_recent_count"] == 2
    assert item["item_trend"] == pytest.approx(np.log(3) - np.log(2))
    assert item["item_log_popularity"] == pytest.approx(np.log1p(snapshot.popularity[1]))
    assert item["item_n_genres"] == 2


def test_popularity_percentile_is_the_share_of_items_with_fewer_interactions(
    snapshot: Snapshot,
) -> None:
    """Counts 3, 3, 2, 1, 0: items 10 and 20 beat three of five items."""
    percentiles = [r["item_popularity_percentile"] for r in rows(snapshot, [0, 1, 2, 3, 4])]
    assert percentiles == pytest.approx([0.6, 0.6, 0.4, 0.2, 0.0])


def test_item_without_interactions_gets_the_documented_defaults(snapshot: Snapshot) -> None:
    """Item 50: global mean ratings, -1 days, zero counts; its year is still known."""
    (item,) = rows(snapshot, [4])
    assert item["item_mean_rating"] == pytest.approx(snapshot.global_mean_rating)
    assert item["item_shrunk_mean_rating"] == pytest.approx(snapshot.global_mean_rating)
    assert item["item_days_since_first"] == -1
    assert item["item_days_since_last"] == -1
    assert item["item_n_interactions"] == 0
    assert item["item_release_year"] == 1980


def test_unknown_year_gives_zero_year_and_age(snapshot: Snapshot) -> None:
    """Item 30 has no release year."""
    (item,) = rows(snapshot, [2])
    assert (item["item_release_year"], item["item_age_years"]) == (0, 0)


def test_rows_follow_candidate_order_including_repeats(snapshot: Snapshot) -> None:
    """Row r describes candidate r."""
    block = ItemFeatures(snapshot).hydrate(batch_for(snapshot, 1, [3, 0, 3]))
    single = ItemFeatures(snapshot).hydrate(batch_for(snapshot, 1, [0, 3]))
    assert np.array_equal(block, single[[1, 0, 1]])
