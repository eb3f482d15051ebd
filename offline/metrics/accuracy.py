"""Ranking accuracy per user, with Microsoft Recommenders' `python_evaluation` definitions.

For a user with hits h_1..h_k (1 where slot r holds a test item) and R distinct
test items:

    precision@k = sum(h) / k                      (k even when the list is shorter)
    recall@k    = sum(h) / R
    ndcg@k      = sum_r h_r / ln(1 + r)  /  sum_{r <= min(R, k)} 1 / ln(1 + r)
    map         = sum_r h_r * (hits in slots 1..r) / r  /  R
    hit_rate@k  = 1 if any h_r else 0
    mrr@k       = 1 / (first r with h_r), 0 without a hit

`map` is Microsoft's current `map` (normalised by R), not its `map_at_k`
(normalised by min(R, k)). NDCG uses binary gains; the log base cancels out.
The aggregate of each is the mean over the evaluated users (see `relevance`).
Microsoft's current `ndcg_at_k` alone also counts, as 0, test users without
any recommendation; here every metric averages over the same users and
`Evaluation.missing_users` reports the others. The two agree whenever every
test user has a list, as in the published runs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from offline.metrics.per_user import PerUserMetrics
from offline.metrics.relevance import Relevance, relevance
from offline.topk import TopK
from recmesh.data.dataset import Interactions


def precision_at_k(rel: Relevance) -> NDArray[np.float64]:
    """Hits over k, per user."""
    result: NDArray[np.float64] = rel.hits.sum(axis=1) / float(rel.k)
    return result


def recall_at_k(rel: Relevance) -> NDArray[np.float64]:
    """Hits over the user's number of test items, per user."""
    result: NDArray[np.float64] = rel.hits.sum(axis=1) / rel.n_relevant
    return result


def ndcg_at_k(rel: Relevance) -> NDArray[np.float64]:
    """Binary-gain NDCG, the ideal list holding min(R, k) relevant items, per user."""
    discount = 1.0 / np.log1p(np.arange(1, rel.k + 1, dtype=np.float64))
    dcg = (rel.hits * discount).sum(axis=1)
    ideal = np.cumsum(discount)[np.minimum(rel.n_relevant, rel.k) - 1]
    result: NDArray[np.float64] = np.asarray(dcg / ideal, dtype=np.float64)
    return result


def average_precision(rel: Relevance) -> NDArray[np.float64]:
    """Sum of the precisions at each hit, over the user's number of test items, per user."""
    ranks = np.arange(1, rel.k + 1, dtype=np.float64)
    precision_at_hit = np.where(rel.hits, np.cumsum(rel.hits, axis=1) / ranks, 0.0)
    result: NDArray[np.float64] = precision_at_hit.sum(axis=1) / rel.n_relevant
    return result


def hit_rate_at_k(rel: Relevance) -> NDArray[np.float64]:
    """1.0 where the list holds at least one test item, per user."""
    result: NDArray[np.float64] = np.asarray(rel.hits.any(axis=1), dtype=np.float64)
    return result


def reciprocal_rank(rel: Relevance) -> NDArray[np.float64]:
    """1 / rank of the first hit, 0.0 without one, per user."""
    first = np.argmax(rel.hits, axis=1)
    result: NDArray[np.float64] = np.where(rel.hits.any(axis=1), 1.0 / (first + 1.0), 0.0)
    return result


def accuracy_names(k: int) -> tuple[str, ...]:
    """The metric names `accuracy_per_user` returns for cutoff k, in its order."""
    return (f"precision@{k}", f"recall@{k}", f"ndcg@{k}", "map", f"hit_rate@{k}", f"mrr@{k}")


def accuracy_per_user(topk: TopK, test: Interactions, k: int) -> PerUserMetrics:
    """Every accuracy metric at cutoff k, for the users with both a list and test rows.

    Names are those of `accuracy_names(k)`: precision@k, recall@k, ndcg@k, map,
    hit_rate@k, mrr@k.
    """
    rel = relevance(topk, test, k)
    arrays = (
        precision_at_k(rel),
        recall_at_k(rel),
        ndcg_at_k(rel),
        average_precision(rel),
        hit_rate_at_k(rel),
        reciprocal_rank(rel),
    )
    return PerUserMetrics(users=rel.users, values=dict(zip(accuracy_names(k), arrays, strict=True)))
