"""EaseSource: the sum of EASE's kept weights from the user's history to unseen items."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import sparse

from recmesh.core.candidates.sources.ease import EaseSource
from recmesh.snapshot.snapshot import Snapshot
from tests.core.candidates.sources_helpers import request_for
from tests.snapshot.datasets import EXAMPLE_CONFIG, example_snapshot

_EASE = dataclasses.replace(EXAMPLE_CONFIG, ease_neighbors_per_item=2, ease_l2=1.0)


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot(_EASE)


def _expected_scores(snapshot: Snapshot, user: int) -> np.ndarray:
    weights = sparse.csr_matrix(
        (snapshot.ease_values, snapshot.ease_indices, snapshot.ease_indptr),
        shape=(snapshot.n_items, snapshot.n_items),
    )
    history = request_for(snapshot, user).history.item_indices
    scores = np.asarray(weights[history].sum(axis=0)).ravel()
    scores[history] = 0.0
    return scores


@pytest.mark.parametrize("user", [1, 2, 3, 4])
def test_scores_are_the_kept_weights_summed_over_the_history(snapshot: Snapshot, user: int) -> None:
    """Every item scoring above 0 is returned, best first, with X[user] B over the kept
    lists; consumed items never are."""
    expected = _expected_scores(snapshot, user)
    result = EaseSource(snapshot).generate(request_for(snapshot, user, n=5))
    found = np.flatnonzero(expected > 0)
    assert sorted(result.item_indices.tolist()) == found.tolist()
    assert result.scores == pytest.approx(expected[result.item_indices], rel=1e-6)
    assert np.all(np.diff(result.scores) <= 0)
    history = set(request_for(snapshot, user).history.item_indices.tolist())
    assert not history & set(result.item_indices.tolist())


def test_user_2_gets_item_30_by_both_history_items(snapshot: Snapshot) -> None:
    """User 2 saw items 10 and 20; item 30 (index 2) is in both their lists."""
    rows = snapshot.ease_indptr
    weight = {
        (h, int(j)): float(v)
        for h in (0, 1)
        for j, v in zip(
            snapshot.ease_indices[rows[h] : rows[h + 1]],
            snapshot.ease_values[rows[h] : rows[h + 1]],
            strict=True,
        )
    }
    result = EaseSource(snapshot).generate(request_for(snapshot, 2))
    assert result.item_indices.tolist() == [2]
    assert result.scores.tolist() == pytest.approx([weight[0, 2] + weight[1, 2]], rel=1e-6)


def test_users_without_history_get_nothing(snapshot: Snapshot) -> None:
    """Unknown user 99 and history-less user 5 get an empty result."""
    source = EaseSource(snapshot)
    assert len(source.generate(request_for(snapshot, 99))) == 0
    assert len(source.generate(request_for(snapshot, 5))) == 0


def test_a_snapshot_without_ease_is_refused() -> None:
    """The source needs the snapshot's neighbour lists."""
    with pytest.raises(ValueError, match="no EASE"):
        EaseSource(example_snapshot())
