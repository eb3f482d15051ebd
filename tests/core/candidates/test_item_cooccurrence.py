"""ItemCooccurrenceSource: SAR scores of unseen neighbours of the user's history."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.core.candidates.sources.item_cooccurrence import ItemCooccurrenceSource
from recmesh.snapshot.snapshot import Snapshot
from tests.core.candidates.sources_helpers import request_for
from tests.snapshot.datasets import example_snapshot


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


def test_scores_are_sar_scores_of_unseen_neighbours(snapshot: Snapshot) -> None:
    """User 2 saw items 10, 20: item 30 scores w10/4 + 2*w20/3, item 40 w20/3."""
    request = request_for(snapshot, 2)
    w10, w20 = (float(w) for w in request.history.weights)
    result = ItemCooccurrenceSource(snapshot).generate(request)
    assert result.item_indices.tolist() == [2, 3]
    assert result.scores.tolist() == pytest.approx([w10 / 4 + 2 * w20 / 3, w20 / 3], rel=1e-6)


def test_never_returns_consumed_items(snapshot: Snapshot) -> None:
    """User 3 saw items 20, 30, 40; their neighbours include each other, yet only 10 remains."""
    result = ItemCooccurrenceSource(snapshot).generate(request_for(snapshot, 3))
    assert result.item_indices.tolist() == [0]


def test_users_without_history_get_nothing(snapshot: Snapshot) -> None:
    """Unknown user 99 and history-less user 5 get an empty result."""
    source = ItemCooccurrenceSource(snapshot)
    assert len(source.generate(request_for(snapshot, 99))) == 0
    assert len(source.generate(request_for(snapshot, 5))) == 0


def test_result_is_capped_at_n_and_sorted_best_first(snapshot: Snapshot) -> None:
    """n = 1 keeps the best item only."""
    result = ItemCooccurrenceSource(snapshot).generate(request_for(snapshot, 2, n=1))
    assert result.item_indices.tolist() == [2]
    assert np.all(np.diff(result.scores) <= 0)


def test_name_is_stable(snapshot: Snapshot) -> None:
    """The name is the metric label and candidate-set source name."""
    assert ItemCooccurrenceSource(snapshot).name == "item_cooccurrence"
