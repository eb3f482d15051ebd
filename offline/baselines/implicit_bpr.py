"""BPR (Bayesian Personalised Ranking) from the `implicit` library.

Fitted on the binary training matrix (a 1 for each user x item pair seen,
whatever the rating), each epoch one SGD step per training pair against a
sampled unseen item (`verify_negative_samples`). implicit draws that item in
proportion to its popularity, not uniformly as the BPR paper and cornac do
(implicit's issue 255), which costs it much on MovieLens's top-10 ranking.
The fit is `recmesh.snapshot.bpr`'s (CPU only, one thread, the same model for
the same `seed`), which a snapshot's latent factors can use too. Item factors
carry a bias column (and user factors a column of ones), so the dot product
includes it.
Defaults: chosen on hold-outs of TRAIN, see docs/experiments.md "Quality".
"""

from __future__ import annotations

from dataclasses import dataclass

from offline.baselines.dense_scores import TrainingMatrix
from offline.baselines.factors import FactorRecommender
from offline.baselines.settings import check_settings
from recmesh.data.dataset import Interactions
from recmesh.snapshot.bpr import BPR_ITERATIONS, BPR_LEARNING_RATE, BPR_SEED, bpr_factors

NAME = "implicit-bpr"


@dataclass(frozen=True)
class BPRConfig:
    """implicit's BayesianPersonalizedRanking parameters; ValueError for a non-positive
    one (`regularization` may be 0)."""

    factors: int = 128
    learning_rate: float = BPR_LEARNING_RATE
    regularization: float = 0.01
    iterations: int = BPR_ITERATIONS
    seed: int = BPR_SEED

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
    factors = bpr_factors(
        matrix.seen,
        config.factors,
        config.learning_rate,
        config.regularization,
        config.iterations,
        config.seed,
    )
    return FactorRecommender(
        label=NAME, matrix=matrix, user_factors=factors.users, item_factors=factors.items
    )
