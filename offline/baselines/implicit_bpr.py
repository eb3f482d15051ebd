"""BPR (Bayesian Personalised Ranking) from the `implicit` library.

Fitted on the binary training matrix (a 1 for each user x item pair seen,
whatever the rating), each epoch one SGD step per training pair against a
sampled unseen item (`verify_negative_samples`). implicit draws that item in
proportion to its popularity, not uniformly as the BPR paper and cornac do
(implicit's issue 255), which costs it much on MovieLens's top-10 ranking.
Runs on the CPU only (`implicit.cpu`, never the GPU factory) on one thread:
implicit's BPR updates the factors lock-free from every thread, so only one
thread gives the same model for the same `seed`. Item factors carry a bias
column (and user factors a column of ones), so the dot product includes it.
Defaults: chosen on hold-outs of TRAIN, see docs/experiments.md "Quality".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from implicit.cpu.bpr import BayesianPersonalizedRanking

from offline.baselines.dense_scores import TrainingMatrix
from offline.baselines.factors import FactorRecommender
from offline.baselines.settings import check_settings
from recmesh.data.dataset import Interactions

NAME = "implicit-bpr"


@dataclass(frozen=True)
class BPRConfig:
    """implicit's BayesianPersonalizedRanking parameters; ValueError for a non-positive
    one (`regularization` may be 0)."""

    factors: int = 128
    learning_rate: float = 0.001
    regularization: float = 0.01
    iterations: int = 400
    seed: int = 42

    def __post_init__(self) -> None:
        check_settings(
            self,
            positive=("factors", "learning_rate", "iterations"),
            non_negative=("regularization",),
        )


def fit_bpr(train: Interactions, config: BPRConfig | None = None) -> FactorRecommender:
    """Fits BPR on `train` (not modified); raises ValueError for empty training data."""
    config = BPRConfig() if config is None else config
    matrix = TrainingMatrix.of(train)
    model = BayesianPersonalizedRanking(
        factors=config.factors,
        learning_rate=config.learning_rate,
        regularization=config.regularization,
        iterations=config.iterations,
        num_threads=1,
        verify_negative_samples=True,
        random_state=config.seed,
    )
    model.fit(matrix.seen.astype(np.float32), show_progress=False)
    return FactorRecommender(
        label=NAME,
        matrix=matrix,
        user_factors=np.asarray(model.user_factors, dtype=np.float32),
        item_factors=np.asarray(model.item_factors, dtype=np.float32),
    )
