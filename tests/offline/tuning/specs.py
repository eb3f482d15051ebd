"""A tiny spec with a `tuning:` block, for the tuning tests (a subsample of ml-100k)."""

from __future__ import annotations

from typing import Any

from tests.offline.experiment.specs import small_spec


def tuning_spec(**tuning: Any) -> dict[str, Any]:
    """small_spec on 120 users with early stopping and a three-field space; `tuning`
    replaces keys of the block."""
    body = small_spec(dataset={"name": "ml-100k", "max_users": 120})
    body["training"]["xgboost"].update(n_estimators=20, early_stopping_rounds=5)
    body["tuning"] = {
        "metric": "ndcg@10",
        "trials": 3,
        "pruning": {"startup_trials": 1, "warmup_trees": 5, "every_trees": 5},
        "space": {
            "training.labels.folds": {"low": 1, "high": 2},
            "training.xgboost.learning_rate": {"low": 0.05, "high": 0.3, "log": True},
            "training.xgboost.objective": {"choices": ["rank:ndcg", "rank:pairwise"]},
        },
        **tuning,
    }
    return body
