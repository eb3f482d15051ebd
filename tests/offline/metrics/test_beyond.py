"""Coverage, novelty, intra-list diversity and popularity bias on hand-made lists."""

from __future__ import annotations

import math

import numpy as np
import pytest

from offline.errors import UnknownIdsError
from offline.metrics.beyond import (
    ItemPopularity,
    catalogue_coverage,
    diversity_per_list,
    novelty,
    novelty_per_list,
    popularity_per_list,
)
from tests.offline.factories import catalog, pairs, topk

# Training rows: item 1 four times, item 2 three times, item 3 once (8 rows).
_TRAIN = pairs([(1, 1), (2, 1), (3, 1), (4, 1), (1, 2), (2, 2), (3, 2), (4, 3)])


def test_popularity_counts_training_rows_and_unknown_items_count_zero() -> None:
    """lookup gives each item's training rows, 0 for items never trained on."""
    popularity = ItemPopularity.of(_TRAIN)
    assert popularity.total == 8
    assert popularity.lookup(np.array([[3, 1], [2, 99]])).tolist() == [[1, 4], [3, 0]]


def test_coverage_counts_distinct_items_in_the_first_k_slots() -> None:
    """Items 1, 2, 3 of a 10-item catalogue in the top 2 (item 4 is third): 0.3."""
    lists = topk({1: [1, 2, 4], 2: [2, 3]}, k=3)
    assert catalogue_coverage(lists, catalogue_size=10, k=2) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="positive"):
        catalogue_coverage(lists, catalogue_size=0, k=2)


def test_novelty_is_mean_self_information_of_training_popularity() -> None:
    """List [1, 3]: (-log2(4/8) - log2(1/8)) / 2 = 2; an unseen item counts as one row."""
    lists = topk({1: [1, 3], 2: [99]}, k=2)
    per_list = novelty_per_list(lists, ItemPopularity.of(_TRAIN), k=2)
    assert per_list == pytest.approx([2.0, 3.0])


def test_aggregate_novelty_averages_over_all_recommended_slots() -> None:
    """Microsoft's novelty weighs lists by length: (1 + 3 + 3) / 3, not (2 + 3) / 2."""
    lists = topk({1: [1, 3], 2: [3]}, k=2)
    assert novelty(lists, ItemPopularity.of(_TRAIN), k=2) == pytest.approx(7 / 3)


def test_popularity_bias_is_the_mean_training_popularity_of_each_list() -> None:
    """ARP of [1, 2, 3] is (4 + 3 + 1) / 3; an empty list scores 0."""
    lists = topk({1: [1, 2, 3], 2: []}, k=3)
    assert popularity_per_list(lists, ItemPopularity.of(_TRAIN), k=3) == pytest.approx([8 / 3, 0])


def test_diversity_is_mean_pairwise_genre_distance() -> None:
    """Same genres: 0; orthogonal genres: 1; [a, a, b]: pairs 0, 1, 1 -> 2/3."""
    genres = catalog({1: [1, 0], 2: [2, 0], 3: [0, 1], 4: [1, 1]})
    lists = topk({1: [1, 2], 2: [1, 3], 3: [1, 2, 3], 4: [1, 4]}, k=3)
    expected = [0.0, 1.0, 2 / 3, 1 - 1 / math.sqrt(2)]
    assert diversity_per_list(lists, genres, k=3) == pytest.approx(expected)


def test_diversity_of_short_lists_and_genreless_items() -> None:
    """Fewer than 2 items: 0. An item without genres is at distance 1 from any item."""
    genres = catalog({1: [1, 0], 2: [0, 0]})
    lists = topk({1: [1], 2: [1, 2], 3: []}, k=2)
    assert diversity_per_list(lists, genres, k=2) == pytest.approx([0.0, 1.0, 0.0])


def test_diversity_rejects_items_missing_from_the_catalogue() -> None:
    """A recommended item the catalogue lacks is an UnknownIdsError naming it."""
    with pytest.raises(UnknownIdsError, match=r"\[7\]"):
        diversity_per_list(topk({1: [1, 7]}, k=2), catalog({1: [1, 0]}), k=2)
