"""ALS from the `implicit` library (Hu, Koren and Volinsky's weighted matrix factorisation).

Fitted on the binary training matrix (a 1 for each user x item pair seen,
whatever the rating), each seen pair weighted by `alpha` (implicit's confidence),
by `recmesh.snapshot.als` (CPU only, explicit threads, the same factors for any
thread count), which a snapshot's latent factors can use too. Defaults: chosen
on hold-outs of TRAIN, see docs/experiments.md "Quality".
"""

from __future__ import annotations

from dataclasses import dataclass

from offline.baselines.dense_scores import TrainingMatrix
from offline.baselines.factors import FactorRecommender
from offline.baselines.settings import check_settings
from recmesh.data.dataset import Interactions
from recmesh.snapshot.als import ALS_ALPHA, ALS_ITERATIONS, ALS_SEED, als_factors

NAME = "implicit-als"


@dataclass(frozen=True)
class ALSConfig:
    """implicit's AlternatingLeastSquares parameters; ValueError for a non-positive one
    (`regularization` may be 0)."""

    factors: int = 16
    regularization: float = 10.0
    alpha: float = ALS_ALPHA
    iterations: int = ALS_ITERATIONS
    seed: int = ALS_SEED
    threads: int = 2

    def __post_init__(self) -> None:
        check_settings(
            self,
            positive=("factors", "alpha", "iterations", "threads"),
            non_negative=("regularization",),
        )


def fit_als(train: Interactions, config: ALSConfig | None = None) -> FactorRecommender:
    """Fits ALS on `train` (not modified); raises ValueError for empty training data."""
    config = ALSConfig() if config is None else config
    matrix = TrainingMatrix.of(train)
    factors = als_factors(
        matrix.seen,
        config.factors,
        config.regularization,
        config.alpha,
        config.iterations,
        config.seed,
        config.threads,
    )
    return FactorRecommender(
        label=NAME,
        matrix=matrix,
        user_factors=factors.users,
        item_factors=factors.items,
    )
