"""BPR (Bayesian Personalised Ranking) from the `cornac` library: the published figure's BPR.

Microsoft Recommenders' benchmark notebook runs this model; here it runs on the
same splits and metric code as the others. Fitted on the binary training
matrix, each epoch as many SGD steps as training pairs, each against a negative
drawn uniformly from the catalogue (skipped when the user saw it; implicit's BPR
draws negatives in proportion to popularity instead). With a seed cornac runs
on one thread, so a fit is the same for the same `seed`. The item bias rides in
the factors as a last column (and the user's as a column of ones). Defaults:
chosen on hold-outs of TRAIN, see docs/experiments.md "Quality".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cornac.models import BPR

from offline.baselines.cornac_data import cornac_dataset
from offline.baselines.dense_scores import TrainingMatrix
from offline.baselines.factors import FactorRecommender
from offline.baselines.settings import check_settings
from recmesh.data.dataset import Interactions

NAME = "cornac-bpr"


@dataclass(frozen=True)
class CornacBPRConfig:
    """cornac's BPR parameters (`k`, `max_iter`, `learning_rate`, `lambda_reg`, `seed`);
    ValueError for a non-positive one (`regularization` may be 0)."""

    factors: int = 300
    learning_rate: float = 0.05
    regularization: float = 0.01
    iterations: int = 100
    seed: int = 42

    def __post_init__(self) -> None:
        check_settings(
            self,
            positive=("factors", "learning_rate", "iterations"),
            non_negative=("regularization",),
        )


def fit_cornac_bpr(train: Interactions, config: CornacBPRConfig | None = None) -> FactorRecommender:
    """Fits cornac's BPR on `train` (not modified); ValueError for empty training data."""
    config = CornacBPRConfig() if config is None else config
    matrix = TrainingMatrix.of(train)
    model = BPR(
        k=config.factors,
        max_iter=config.iterations,
        learning_rate=config.learning_rate,
        lambda_reg=config.regularization,
        use_bias=True,
        verbose=False,
        seed=config.seed,
    )
    model.fit(cornac_dataset(matrix, train, ratings=False))
    users = np.asarray(model.u_factors, dtype=np.float32)
    items = np.asarray(model.i_factors, dtype=np.float32)
    biases = np.asarray(model.i_biases, dtype=np.float32)[:, None]
    return FactorRecommender(
        label=NAME,
        matrix=matrix,
        user_factors=np.hstack([users, np.ones((users.shape[0], 1), dtype=np.float32)]),
        item_factors=np.hstack([items, biases]),
    )
