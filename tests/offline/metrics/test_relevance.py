"""relevance: hits of the lists against the test set, for users in both."""

from __future__ import annotations

import numpy as np
import pytest

from offline.metrics.relevance import missing_users, relevance
from tests.offline.factories import pairs, topk


def test_hits_mark_slots_holding_a_test_item_of_that_user() -> None:
    """A slot is a hit when its item is in the same user's test rows, whatever the rating."""
    lists = topk({1: [10, 11, 12], 2: [10, 20]}, k=3)
    test = pairs([(1, 12), (1, 10), (2, 11), (2, 20), (2, 21)])
    rel = relevance(lists, test, k=3)
    assert rel.users.tolist() == [1, 2]
    assert rel.hits.tolist() == [[True, False, True], [False, True, False]]
    assert rel.n_relevant.tolist() == [2, 3]
    assert rel.k == 3


def test_only_users_with_a_list_and_test_rows_are_evaluated() -> None:
    """Users without test rows or without a list are left out; missing_users lists the latter."""
    lists = topk({1: [10], 3: [30]}, k=1)
    test = pairs([(1, 10), (2, 20), (4, 40)])
    rel = relevance(lists, test, k=1)
    assert rel.users.tolist() == [1]
    assert missing_users(lists, test).tolist() == [2, 4]


def test_cutoff_beyond_the_list_width_adds_empty_slots() -> None:
    """With k larger than the lists, the extra slots are never hits."""
    rel = relevance(topk({1: [10, 11]}, k=2), pairs([(1, 11)]), k=4)
    assert rel.hits.tolist() == [[False, True, False, False]]


def test_cutoff_below_the_list_width_ignores_later_slots() -> None:
    """Only the first k slots count."""
    rel = relevance(topk({1: [10, 11, 12]}, k=3), pairs([(1, 12)]), k=2)
    assert rel.hits.tolist() == [[False, False]]
    assert rel.n_relevant.tolist() == [1]


def test_repeated_test_pairs_count_once() -> None:
    """A (user, item) pair on two test rows is one relevant item."""
    rel = relevance(topk({1: [10]}, k=1), pairs([(1, 10), (1, 10), (1, 11)]), k=1)
    assert rel.n_relevant.tolist() == [2]


def test_items_unknown_to_the_test_set_and_empty_slots_are_misses() -> None:
    """Recommended items outside the test vocabulary, and padding, never hit."""
    rel = relevance(topk({1: [99, 10]}, k=3), pairs([(1, 10), (2, 5)]), k=3)
    assert rel.hits.tolist() == [[False, True, False]]


def test_no_common_users_gives_an_empty_relevance() -> None:
    """Disjoint users yield zero evaluated users, not an error."""
    rel = relevance(topk({1: [10]}, k=1), pairs([(2, 10)]), k=1)
    assert rel.users.shape == (0,)
    assert rel.hits.shape == (0, 1)


def test_cutoff_must_be_positive() -> None:
    """k < 1 is a ValueError."""
    with pytest.raises(ValueError, match="k must be >= 1"):
        relevance(topk({1: [10]}, k=1), pairs([(1, 10)]), k=0)


def test_large_ids_do_not_collide() -> None:
    """Keys combine user and item codes, so ids far apart still match exactly."""
    big = 2**40
    rel = relevance(topk({big: [big + 1, 3]}, k=2), pairs([(big, 3), (5, big + 1)]), k=2)
    assert rel.hits.tolist() == [[False, True]]
    assert np.array_equal(rel.users, np.array([big]))
