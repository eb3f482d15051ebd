"""Fits the XGBoost ranker on learning-to-rank groups, with early stopping on held-out users."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xgboost as xgb
from numpy.typing import NDArray

from offline.experiment.spec import TrainingSpec, XGBoostParams
from offline.training.ltr_data import LtrData
from recmesh.console.progress import NullProgress, Progress


@dataclass(frozen=True)
class TrainedRanker:
    """The fitted booster as UBJSON bytes (truncated to its best iteration), the feature
    schema it takes, and how training went. `importance` is the total gain per feature
    (features it never split on are absent)."""

    model_bytes: bytes
    feature_names: tuple[str, ...]
    schema_fingerprint: str
    trees: int
    validation_metric: str
    validation_score: float
    importance: Mapping[str, float]
    train_groups: int
    validation_groups: int
    #: How it was trained, for the lineage: the engine, its library versions and, on a
    #: Dask cluster, the cluster and the threads XGBoost used per worker.
    engine: Mapping[str, str] = field(default_factory=dict)


class _ProgressCallback(xgb.callback.TrainingCallback):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self._progress = progress

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self._progress.advance()
        return False


def train_ranker(
    data: LtrData,
    training: TrainingSpec,
    seed: int,
    progress: Progress | None = None,
    callbacks: Sequence[xgb.callback.TrainingCallback] = (),
) -> TrainedRanker:
    """A ranker over `data`'s groups; deterministic for a seed (fixed thread count).
    `callbacks` see every round after the progress does (tuning prunes with one: an
    exception it raises stops training and propagates).

    Users are split once into training and validation users (`validation_users`); all
    of a validation user's groups go to the early-stopping set. Features outside
    `training.features` are held at 0, so no tree uses them.
    """
    progress = progress or NullProgress()
    params = training.xgboost
    matrix = masked_features(data, training.features)
    validation = validation_groups(data, training.validation_users, seed)
    rows = np.repeat(validation, data.group_sizes)
    train_set = _dmatrix(
        matrix[~rows], data.labels[~rows], data.group_sizes[~validation], data, params.nthread
    )
    eval_set = _dmatrix(
        matrix[rows], data.labels[rows], data.group_sizes[validation], data, params.nthread
    )
    history: dict[str, dict[str, list[float]]] = {}
    progress.start(params.n_estimators, "training the XGBoost ranker", "trees")
    try:
        booster = xgb.train(
            booster_params(params, seed),
            train_set,
            num_boost_round=params.n_estimators,
            evals=[(eval_set, "validation")],
            evals_result=history,
            early_stopping_rounds=params.early_stopping_rounds or None,
            callbacks=[_ProgressCallback(progress), *callbacks],
            verbose_eval=False,
        )
    except BaseException:
        progress.finish("failed")
        raise
    engine = {"engine": "xgboost", "engine_versions": f"xgboost {xgb.__version__}"}
    return trained_ranker(booster, history, data, training, validation, progress, engine)


def booster_params(params: XGBoostParams, seed: int) -> dict[str, Any]:
    """XGBoost's parameters for the spec's: the same in this process and on a cluster."""
    return {
        "objective": params.objective,
        "eta": params.learning_rate,
        "max_depth": params.max_depth,
        "min_child_weight": params.min_child_weight,
        "subsample": params.subsample,
        "colsample_bytree": params.colsample_bytree,
        "lambda": params.reg_lambda,
        "eval_metric": params.eval_metric,
        "tree_method": "hist",
        "nthread": params.nthread,
        "seed": seed,
        "lambdarank_pair_method": "topk",
    }


def trained_ranker(
    booster: xgb.Booster,
    history: Mapping[str, Mapping[str, Sequence[float]]],
    data: LtrData,
    training: TrainingSpec,
    validation: NDArray[np.bool_],
    progress: Progress,
    engine: Mapping[str, str],
) -> TrainedRanker:
    """The booster truncated to its best iteration (every round without early stopping),
    with how training went; finishes `progress`'s training step."""
    params = training.xgboost
    scores = history["validation"][params.eval_metric]
    # Without early stopping every round is kept; with it, the best round and those before.
    best = booster.best_iteration if params.early_stopping_rounds else len(scores) - 1
    kept = booster[: best + 1]
    progress.finish(f"{best + 1} trees kept, validation {params.eval_metric} {scores[best]:.4f}")
    gains = kept.get_score(importance_type="total_gain")
    return TrainedRanker(
        model_bytes=bytes(kept.save_raw("ubj")),
        feature_names=data.feature_names,
        schema_fingerprint=data.schema_fingerprint,
        trees=best + 1,
        validation_metric=params.eval_metric,
        validation_score=float(scores[best]),
        importance={str(name): _number(gain) for name, gain in sorted(gains.items())},
        train_groups=int((~validation).sum()),
        validation_groups=int(validation.sum()),
        engine=dict(engine),
    )


def masked_features(data: LtrData, features: tuple[str, ...] | None) -> NDArray[np.float32]:
    """The feature matrix with the columns outside `features` held at 0 (None: all used)."""
    if features is None:
        return data.matrix
    unused = [i for i, name in enumerate(data.feature_names) if name not in features]
    matrix = data.matrix.copy()
    matrix[:, unused] = 0.0
    return matrix


def validation_groups(data: LtrData, share: float, seed: int) -> NDArray[np.bool_]:
    """True for the groups of a seeded `share` of the users (at least one user each side)."""
    users = np.unique(data.users)
    count = min(max(1, round(share * users.shape[0])), users.shape[0] - 1)
    if count < 1:
        raise ValueError("training needs groups of at least two users")
    chosen = np.random.default_rng(seed).choice(users, count, replace=False)
    picked: NDArray[np.bool_] = np.isin(data.users, chosen)
    return picked


def _dmatrix(
    matrix: NDArray[np.float32], labels: NDArray[np.float32], sizes: NDArray[np.int64],
    data: LtrData, nthread: int,
) -> xgb.DMatrix:
    dmatrix = xgb.DMatrix(
        matrix, label=labels, feature_names=list(data.feature_names), nthread=nthread
    )
    dmatrix.set_group(sizes)
    return dmatrix


def _number(gain: float | list[float]) -> float:
    """A feature's gain (a list only for multi-class models, which rankers are not)."""
    return float(sum(gain)) if isinstance(gain, list) else float(gain)
