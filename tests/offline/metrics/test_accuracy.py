"""Accuracy metrics per user, against hand-computed values and Microsoft's formulas."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from offline.metrics.accuracy import (
    accuracy_names,
    accuracy_per_user,
    average_precision,
    hit_rate_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
)
from offline.metrics.relevance import Relevance, relevance
from tests.offline.factories import pairs, topk


def _example() -> Relevance:
    # User 1: list [1, 2, 3, 4], test {2, 4, 9}: hits at ranks 2 and 4.
    # User 2: list [5, 6], test {7}: no hit.
    # User 3: list [8], test {8}: a hit at rank 1.
    lists = topk({1: [1, 2, 3, 4], 2: [5, 6], 3: [8]}, k=4)
    test = pairs([(1, 2), (1, 4), (1, 9), (2, 7), (3, 8)])
    return relevance(lists, test, k=4)


def test_precision_divides_hits_by_k_even_for_short_lists() -> None:
    """precision@4: 2/4, 0/4, and 1/4 for a one-item list."""
    assert precision_at_k(_example()).tolist() == [0.5, 0.0, 0.25]


def test_recall_divides_hits_by_the_number_of_test_items() -> None:
    """recall@4: 2/3, 0/1, 1/1."""
    assert recall_at_k(_example()) == pytest.approx([2 / 3, 0.0, 1.0])


def test_ndcg_uses_binary_gains_and_an_ideal_of_min_relevant_k_hits() -> None:
    """User 1: (1/ln 3 + 1/ln 5) / (1/ln 2 + 1/ln 3 + 1/ln 4); no hit is 0; a top hit is 1."""
    dcg = 1 / math.log(3) + 1 / math.log(5)
    ideal = 1 / math.log(2) + 1 / math.log(3) + 1 / math.log(4)
    assert ndcg_at_k(_example()) == pytest.approx([dcg / ideal, 0.0, 1.0])


def test_map_sums_precision_at_each_hit_over_all_relevant_items() -> None:
    """User 1: (1/2 + 2/4) / 3 = 1/3 (Microsoft's `map`, normalised by R = 3)."""
    assert average_precision(_example()) == pytest.approx([1 / 3, 0.0, 1.0])


def test_map_is_normalised_by_all_relevant_items_not_min_r_k() -> None:
    """A perfect top 2 of 3 relevant items scores 2/3, where map_at_k would give 1."""
    rel = relevance(topk({1: [1, 2]}, k=2), pairs([(1, 1), (1, 2), (1, 3)]), k=2)
    assert average_precision(rel) == pytest.approx([2 / 3])
    assert ndcg_at_k(rel) == pytest.approx([1.0])


def test_hit_rate_and_reciprocal_rank() -> None:
    """Hit rate is 1 with any hit; MRR is 1 / rank of the first hit (1/2, 0, 1)."""
    rel = _example()
    assert hit_rate_at_k(rel).tolist() == [1.0, 0.0, 1.0]
    assert reciprocal_rank(rel).tolist() == [0.5, 0.0, 1.0]


def test_accuracy_per_user_names_and_aligns_every_metric() -> None:
    """accuracy_per_user returns accuracy_names(k), aligned to the evaluated users."""
    lists = topk({1: [1, 2, 3, 4], 2: [5, 6], 3: [8], 9: [1]}, k=4)
    test = pairs([(1, 2), (1, 4), (1, 9), (2, 7), (3, 8)])
    metrics = accuracy_per_user(lists, test, k=4)
    assert metrics.names == accuracy_names(4)
    assert metrics.names == ("precision@4", "recall@4", "ndcg@4", "map", "hit_rate@4", "mrr@4")
    assert metrics.users.tolist() == [1, 2, 3]
    assert metrics.mean("precision@4") == pytest.approx(0.25)


def _microsoft_reference(
    lists: dict[int, list[int]], test: list[tuple[int, int]], k: int
) -> dict[str, list[float]]:
    """Microsoft's python_evaluation formulas, one user at a time, as plain Python."""
    out: dict[str, list[float]] = {"precision": [], "recall": [], "ndcg": [], "map": []}
    for user in sorted(set(lists) & {u for u, _ in test}):
        truth = {i for u, i in test if u == user}
        hit_ranks = [r + 1 for r, item in enumerate(lists[user][:k]) if item in truth]
        actual = len(truth)
        out["precision"].append(len(hit_ranks) / k)
        out["recall"].append(len(hit_ranks) / actual)
        dcg = sum(1 / math.log(1 + r) for r in hit_ranks)
        idcg = sum(1 / math.log(1 + r) for r in range(1, min(actual, k) + 1))
        out["ndcg"].append(dcg / idcg)
        out["map"].append(sum((j + 1) / r for j, r in enumerate(hit_ranks)) / actual)
    return out


def test_vectorised_metrics_match_the_per_user_reference_on_random_data() -> None:
    """On 200 random users with short and long lists, every user's values match."""
    rng = random.Random(5)
    lists = {u: rng.sample(range(60), rng.randint(1, 12)) for u in range(200)}
    test = [(u, i) for u in range(0, 230) for i in rng.sample(range(60), rng.randint(1, 15))]
    expected = _microsoft_reference(lists, test, k=10)
    got = accuracy_per_user(topk(lists, k=12), pairs(test), k=10)
    for ours, theirs in [("precision@10", "precision"), ("recall@10", "recall"),
                         ("ndcg@10", "ndcg"), ("map", "map")]:
        assert np.allclose(got.values[ours], expected[theirs], rtol=0, atol=1e-12), ours
