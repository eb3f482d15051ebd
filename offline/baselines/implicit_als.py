"""ALS from the `implicit` library (Hu, Koren and Volinsky's weighted matrix factorisation).

Fitted on the binary training matrix (a 1 for each user x item pair seen,
whatever the rating), each seen pair weighted by `alpha` (implicit's confidence). Runs on
the CPU only (`implicit.cpu`, never the GPU factory) with an explicit thread
count, BLAS held to one thread during the fit as implicit asks. The factors
start from `seed`, and each user's (and item's) solve is independent of the
others, so a fit is the same for any thread count. Defaults: chosen on
hold-outs of TRAIN, see docs/experiments.md "Quality".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from offline.baselines.dense_scores import TrainingMatrix
from offline.baselines.factors import FactorRecommender
from offline.baselines.settings import check_settings
from recmesh.data.dataset import Interactions

NAME = "implicit-als"


@dataclass(frozen=True)
class ALSConfig:
    """implicit's AlternatingLeastSquares parameters; ValueError for a non-positive one
    (`regularization` may be 0)."""

    factors: int = 16
    regularization: float = 10.0
    alpha: float = 2.0
    iterations: int = 15
    seed: int = 42
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
    # implicit checks BLAS's thread count when the model is built, and warns above one.
    with threadpool_limits(limits=1, user_api="blas"):
        model = AlternatingLeastSquares(
            factors=config.factors,
            regularization=config.regularization,
            alpha=config.alpha,
            iterations=config.iterations,
            num_threads=config.threads,
            random_state=config.seed,
        )
        model.fit(matrix.seen.astype(np.float32), show_progress=False)
    return FactorRecommender(
        label=NAME,
        matrix=matrix,
        user_factors=np.asarray(model.user_factors, dtype=np.float32),
        item_factors=np.asarray(model.item_factors, dtype=np.float32),
    )
