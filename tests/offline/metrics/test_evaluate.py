"""evaluate: accuracy and beyond-accuracy metrics of one set of lists, per user and overall."""

from __future__ import annotations

import pytest

from offline.metrics.evaluate import evaluate
from tests.offline.factories import catalog, pairs, topk


def test_evaluate_combines_every_metric_over_the_evaluated_users() -> None:
    """Per-user metrics cover users with a list and test rows; overall adds coverage."""
    train = pairs([(1, 1), (2, 1), (1, 2), (3, 3)])
    test = pairs([(1, 3), (2, 2), (4, 1)])
    lists = topk({1: [3, 4], 2: [3, 4], 3: [1, 2]}, k=2)
    items = catalog({1: [1, 0], 2: [1, 0], 3: [0, 1], 4: [0, 1]})
    result = evaluate(lists, test, train, items, k=2)
    assert result.k == 2
    assert result.per_user.users.tolist() == [1, 2]
    assert result.missing_users.tolist() == [4]
    assert set(result.per_user.names) == {
        "precision@2", "recall@2", "ndcg@2", "map", "hit_rate@2", "mrr@2",
        "novelty", "diversity", "popularity",
    }
    assert result.per_user.values["precision@2"].tolist() == [0.5, 0.0]
    assert result.per_user.values["diversity"].tolist() == [0.0, 0.0]
    assert result.overall["coverage"] == pytest.approx(1.0)
    assert result.overall["precision@2"] == pytest.approx(0.25)
    assert result.overall["popularity"] == pytest.approx(0.5)
