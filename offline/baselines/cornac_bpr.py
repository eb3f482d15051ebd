"""BPR (Bayesian Personalised Ranking) from the `cornac` library: the published figure's BPR.

Microsoft Recommenders' benchmark notebook runs this model; here it runs on the
same splits and metric code as the others. Fitted on the binary training
matrix, each epoch as many SGD steps as training pairs, each against a negative
drawn uniformly from the catalogue (skipped when the user saw it; implicit's BPR
draws negatives in proportion to popularity instead), by `recmesh.snapshot.cornac_bpr`
(one thread when seeded, so the same model for the same `seed`), which a snapshot's
latent factors can use too. The item bias rides in the factors as a last column
(and the user's as a column of ones). Defaults:
chosen on hold-outs of TRAIN, see docs/experiments.md "Quality".
"""

from __future__ import annotations

from dataclasses import dataclass

from offline.baselines.dense_scores import TrainingMatrix
from offline.baselines.factors import FactorRecommender
from offline.baselines.settings import check_settings
from recmesh.data.dataset import Interactions
from recmesh.snapshot.cornac_bpr import (
    CORNAC_BPR_ITERATIONS,
    CORNAC_BPR_LEARNING_RATE,
    CORNAC_BPR_SEED,
    cornac_bpr_factors,
)

NAME = "cornac-bpr"


@dataclass(frozen=True)
class CornacBPRConfig:
    """cornac's BPR parameters (`k`, `max_iter`, `learning_rate`, `lambda_reg`, `seed`);
    ValueError for a non-positive one (`regularization` may be 0)."""

    factors: int = 300
    learning_rate: float = CORNAC_BPR_LEARNING_RATE
    regularization: float = 0.01
    iterations: int = CORNAC_BPR_ITERATIONS
    seed: int = CORNAC_BPR_SEED

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
    # In the order of `train`: cornac samples pairs by position, so the order is part of
    # the model.
    factors = cornac_bpr_factors(
        matrix.users.positions(train.users, "user", "in training"),
        matrix.items.positions(train.items, "item", "in training"),
        (len(matrix.users), len(matrix.items)),
        config.factors,
        config.learning_rate,
        config.regularization,
        config.iterations,
        config.seed,
    )
    return FactorRecommender(
        label=NAME, matrix=matrix, user_factors=factors.users, item_factors=factors.items
    )
