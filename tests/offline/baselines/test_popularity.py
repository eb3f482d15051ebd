"""The popularity baseline: distinct-user counts, seen removal, cold users."""

from __future__ import annotations

import numpy as np

from offline.baselines.popularity import fit_popularity
from offline.topk import PAD
from tests.offline.factories import pairs

# Item 5 has 3 users, item 6 has 2 (user 1 twice counts once), items 7 and 8 one each.
_TRAIN = pairs([(1, 5), (2, 5), (3, 5), (1, 6), (1, 6), (2, 6), (3, 8), (4, 7)])


def test_items_rank_by_distinct_users_with_ties_by_lower_id() -> None:
    """Counts are distinct users; items 7 and 8 tie, so 7 comes first."""
    model = fit_popularity(_TRAIN)
    assert model.counts.tolist() == [3.0, 2.0, 1.0, 1.0]
    lists = model.recommend(np.array([9], dtype=np.int64), 4)
    assert lists.items.tolist() == [[5, 6, 7, 8]]
    assert lists.scores.tolist() == [[3.0, 2.0, 1.0, 1.0]]


def test_seen_items_are_removed_per_user() -> None:
    """User 1 saw 5 and 6; user 3 saw 5 and 8."""
    lists = fit_popularity(_TRAIN).recommend(np.array([1, 3], dtype=np.int64), 2)
    assert lists.items.tolist() == [[7, 8], [6, 7]]


def test_cold_users_get_the_plain_ranking_and_lists_pad_when_items_run_out() -> None:
    """A user not in training gets the top items; a user who saw all but one gets one item."""
    train = pairs([(1, 5), (1, 6), (2, 5)])
    lists = fit_popularity(train).recommend(np.array([7, 1], dtype=np.int64), 3)
    assert lists.items.tolist() == [[5, 6, PAD], [PAD, PAD, PAD]]


def test_keeping_seen_items_returns_the_global_ranking() -> None:
    """remove_seen=False ignores training history."""
    lists = fit_popularity(_TRAIN).recommend(np.array([1], dtype=np.int64), 2, remove_seen=False)
    assert lists.items.tolist() == [[5, 6]]


def test_candidate_pool_gives_the_same_lists_as_ranking_the_whole_catalogue() -> None:
    """On random data, each list equals a brute-force ranking of all unseen items."""
    rng = np.random.default_rng(0)
    train = pairs([(int(u), int(i)) for u, i in rng.integers(0, 50, size=(700, 2))])
    model = fit_popularity(train)
    users = np.arange(55, dtype=np.int64)
    lists = model.recommend(users, 6)
    seen = model.seen.toarray()
    rows, known = model.users.lookup(users)
    order = np.lexsort((model.items.ids, -model.counts))
    for row in range(users.shape[0]):
        allowed = seen[rows[row]] == 0 if known[row] else np.ones(len(model.items), dtype=bool)
        expected = model.items.ids[order][allowed[order]][:6].tolist()
        assert lists.items[row][: len(expected)].tolist() == expected
