"""Small experiment specs for tests: a subsample of ml-100k, a few trees, few resamples."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SMALL_SPEC: dict[str, Any] = {
    "name": "small-challenger",
    "description": "a tiny challenger for tests",
    "seed": 7,
    "dataset": {"name": "ml-100k", "max_users": 150},
    "split": "user_stratified:0.75:seed=42",
    "k": 10,
    "candidates": {"n": 100},
    "training": {
        "labels": {"kind": "auto", "fraction": 0.2, "folds": 1},
        "negatives_per_user": 30,
        "validation_users": 0.2,
        "xgboost": {
            "n_estimators": 15,
            "max_depth": 4,
            "early_stopping_rounds": 0,
            "nthread": 1,
        },
    },
    "metrics": ["ndcg@10", "precision@10", "recall@10", "map", "coverage", "diversity"],
    "success_metrics": ["ndcg@10"],
    "guardrails": [
        {"metric": "coverage", "margin": 0.5, "direction": "higher"},
        {"metric": "latency_p99_ms", "max": 1000},
    ],
    "latency": {"candidates": 500, "calls": 40},
    "bootstrap": {"resamples": 200},
    "sample_users": 2,
}


def small_spec(**changes: Any) -> dict[str, Any]:
    """A copy of SMALL_SPEC with top-level fields replaced."""
    body = copy.deepcopy(SMALL_SPEC)
    body.update(changes)
    return body


def write_spec(path: Path, body: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path
