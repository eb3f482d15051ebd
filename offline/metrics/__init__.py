"""Offline metrics: ranking accuracy per user, beyond-accuracy measures, user segments."""

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
from offline.metrics.beyond import (
    ItemPopularity,
    catalogue_coverage,
    diversity_per_list,
    novelty,
    novelty_per_list,
    popularity_per_list,
)
from offline.metrics.evaluate import Evaluation, evaluate
from offline.metrics.per_user import PerUserMetrics, require_same_users
from offline.metrics.relevance import Relevance, missing_users, relevance
from offline.metrics.segments import (
    SegmentSummary,
    SegmentThresholds,
    metrics_by_segment,
    segment_users,
    training_sizes,
)

__all__ = [
    "Evaluation",
    "ItemPopularity",
    "PerUserMetrics",
    "Relevance",
    "SegmentSummary",
    "SegmentThresholds",
    "accuracy_names",
    "accuracy_per_user",
    "average_precision",
    "catalogue_coverage",
    "diversity_per_list",
    "evaluate",
    "hit_rate_at_k",
    "metrics_by_segment",
    "missing_users",
    "ndcg_at_k",
    "novelty",
    "novelty_per_list",
    "popularity_per_list",
    "precision_at_k",
    "recall_at_k",
    "reciprocal_rank",
    "relevance",
    "require_same_users",
    "segment_users",
    "training_sizes",
]
