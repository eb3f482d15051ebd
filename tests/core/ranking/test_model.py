"""Ranking models are checked at load: schema, parse, finite scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xgboost as xgb

from recmesh.core.features.schema import schema_fingerprint
from recmesh.core.ranking.model import ModelRefusedError, load_ranking_model, top_k_positions

NAMES = ("f0", "f1", "f2")


def _model_bytes(n_features: int = 3) -> bytes:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, n_features)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    booster = xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(x, label=y), 5)
    return bytes(booster.save_raw("ubj"))


def test_good_model_loads_and_scores_rows() -> None:
    """A model matching the schema loads and returns one finite score per row."""
    model = load_ranking_model(_model_bytes(), NAMES, schema_fingerprint(NAMES))
    scores = model.score(np.zeros((4, 3), dtype=np.float32))
    assert scores.shape == (4,)
    assert np.all(np.isfinite(scores))


def test_model_with_wrong_feature_count_is_refused() -> None:
    """A model trained on 4 features cannot serve a 3-feature schema."""
    with pytest.raises(ModelRefusedError, match="expects 4 features"):
        load_ranking_model(_model_bytes(4), NAMES, schema_fingerprint(NAMES))


def test_truncated_model_is_refused() -> None:
    """Half a model file does not parse and is refused."""
    data = _model_bytes()
    with pytest.raises(ModelRefusedError, match="does not parse"):
        load_ranking_model(data[: len(data) // 2], NAMES, schema_fingerprint(NAMES))


def test_model_returning_nan_is_refused() -> None:
    """A model whose base score is NaN (every prediction NaN) is refused at load."""
    body = json.loads(bytes(xgb_json_model()))
    body["learner"]["learner_model_param"]["base_score"] = "[NaN]"
    with pytest.raises(ModelRefusedError, match="NaN"):
        load_ranking_model(json.dumps(body).encode(), NAMES, schema_fingerprint(NAMES))


def xgb_json_model() -> bytes:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 3)).astype(np.float32)
    booster = xgb.train({"max_depth": 1, "nthread": 1}, xgb.DMatrix(x, label=x[:, 0]), 1)
    return bytes(booster.save_raw("json"))


def test_fingerprint_mismatch_in_manifest_is_refused() -> None:
    """Names that do not hash to the manifest's fingerprint are refused."""
    with pytest.raises(ModelRefusedError, match="fingerprint"):
        load_ranking_model(_model_bytes(), NAMES, "0" * 64)


def test_top_k_positions_are_best_first_with_stable_ties() -> None:
    """Best scores first; equal scores keep candidate order."""
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.2], dtype=np.float32)
    assert top_k_positions(scores, 3).tolist() == [1, 3, 2]
    assert top_k_positions(scores, 10).tolist() == [1, 3, 2, 4, 0]
