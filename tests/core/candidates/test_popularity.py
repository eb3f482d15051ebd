"""PopularitySource: the catalogue by decayed popularity, minus what the user consumed."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.core.candidates.sources.popularity import PopularitySource
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.snapshot import Snapshot
from tests.core.candidates.sources_helpers import request_for
from tests.snapshot.datasets import DAY, EXAMPLE_CONFIG, example_snapshot, tiny_dataset


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


def test_unknown_user_gets_items_by_decayed_popularity(snapshot: Snapshot) -> None:
    """Items 20, 30, 10, 40; item 50, which nobody used, is never returned."""
    result = PopularitySource(snapshot).generate(request_for(snapshot, 99))
    assert result.item_indices.tolist() == [1, 2, 0, 3]
    assert result.scores.tolist() == snapshot.popularity[[1, 2, 0, 3]].astype(np.float32).tolist()


def test_consumed_items_are_skipped_and_n_still_filled(snapshot: Snapshot) -> None:
    """User 1 saw the three most popular items; n = 1 still yields an unseen item."""
    result = PopularitySource(snapshot).generate(request_for(snapshot, 1, n=1))
    assert result.item_indices.tolist() == [3]


def test_ties_break_by_all_time_count_then_lower_index() -> None:
    """Equal decayed popularity: the item with more interactions first, then the lower index."""
    rows = [
        (1, 10, 1.0, 30 * DAY),
        (1, 20, 1.0, 30 * DAY),
        (2, 30, 1.0, 30 * DAY),
        (3, 40, 1.0, 0),
        (4, 40, 1.0, 0),
    ]
    dataset = tiny_dataset(rows, [10, 20, 30, 40])
    snapshot = build_snapshot(dataset, dataset.interactions, EXAMPLE_CONFIG)
    # Item 40: two interactions 30 days old -> 2 * 0.5 = 1.0, the same as the others.
    result = PopularitySource(snapshot).generate(request_for(snapshot, 99))
    assert result.item_indices.tolist() == [3, 0, 1, 2]


def test_name_is_stable(snapshot: Snapshot) -> None:
    """The name is the metric label and candidate-set source name."""
    assert PopularitySource(snapshot).name == "popularity"
