"""The ranking model of a serving version: an XGBoost booster checked at load.

A model is refused at load when it cannot be parsed, when its feature count
or names differ from the manifest's feature schema, or when it scores a probe
matrix with NaN or infinite values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xgboost as xgb
from numpy.typing import NDArray

from recmesh.core.features.schema import schema_fingerprint
from recmesh.core.ranking.model_framing import ModelFramingError, check_model_framing


class ModelRefusedError(ValueError):
    """The model must not serve; the message says why."""


@dataclass(frozen=True)
class RankingModel:
    """A loaded booster and the feature schema it expects."""

    booster: xgb.Booster
    feature_names: tuple[str, ...]
    schema_fingerprint: str

    def score(self, features: NDArray[np.float32]) -> NDArray[np.float32]:
        """One score per row; features must have len(feature_names) columns."""
        scores = self.booster.inplace_predict(features, validate_features=False)
        return np.asarray(scores, dtype=np.float32)


def load_ranking_model(
    model_bytes: bytes, feature_names: tuple[str, ...], expected_fingerprint: str
) -> RankingModel:
    """Parses and checks a model; raises ModelRefusedError when it must not serve."""
    if schema_fingerprint(feature_names) != expected_fingerprint:
        raise ModelRefusedError(
            "manifest feature schema fingerprint does not match its feature names"
        )
    try:
        check_model_framing(model_bytes)
    except ModelFramingError as exc:
        raise ModelRefusedError(f"model file does not parse: {exc}") from exc
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(model_bytes))
    except xgb.core.XGBoostError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise ModelRefusedError(f"model file does not parse: {first_line}") from exc
    booster.set_param({"nthread": 1})
    if booster.num_features() != len(feature_names):
        raise ModelRefusedError(
            f"model expects {booster.num_features()} features, the schema has {len(feature_names)}"
        )
    if booster.feature_names is not None and tuple(booster.feature_names) != feature_names:
        raise ModelRefusedError("model feature names differ from the manifest's feature schema")
    model = RankingModel(booster, feature_names, expected_fingerprint)
    probe = _probe_matrix(len(feature_names))
    if not np.all(np.isfinite(model.score(probe))):
        raise ModelRefusedError("model returns NaN or infinite scores on the probe matrix")
    return model


def _probe_matrix(n_features: int) -> NDArray[np.float32]:
    """Deterministic rows spanning zeros, ones and a spread of magnitudes."""
    rng = np.random.default_rng(0)
    rows = [np.zeros(n_features), np.ones(n_features), rng.normal(0, 10, n_features)]
    rows.extend(rng.uniform(-1e3, 1e3, (5, n_features)))
    return np.ascontiguousarray(np.vstack(rows), dtype=np.float32)


def top_k_positions(scores: NDArray[np.float32], k: int) -> NDArray[np.int64]:
    """Positions of the k best scores, best first; ties keep candidate order."""
    n = scores.shape[0]
    if k >= n:
        return np.argsort(-scores, kind="stable").astype(np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    order = np.lexsort((part, -scores[part]))
    return part[order].astype(np.int64)
