"""EASE^R (Steck, 2019) from the `cornac` library: a closed-form item x item autoencoder.

B = I - P / diag(P) with P = (X'X + lambda I)^-1 and a zero diagonal, negative
weights dropped (`positive_only`, cornac's `posB`); score(user) = X[user] B.
X is the training matrix, binary (a 1 for each pair seen) or holding the
ratings. The fit is `recmesh.snapshot.ease`'s (no randomness; BLAS on `threads`
threads), whose top weights a snapshot's "ease" candidate source can use too.
Defaults: chosen on hold-outs of TRAIN, see docs/experiments.md "Quality".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.baselines.dense_scores import TrainingMatrix, recommend_by_scores
from offline.baselines.sar_matrices import CsrMatrix
from offline.baselines.settings import check_settings
from offline.topk import TopK
from recmesh.data.dataset import Interactions
from recmesh.snapshot.ease import ease_fit

NAME = "cornac-ease"


@dataclass(frozen=True)
class EASEConfig:
    """cornac's EASE parameters (`lamb`, `posB`), whether X holds ratings, and BLAS threads.

    Raises ValueError for a negative `l2` or `threads` below 1.
    """

    l2: float = 500.0
    positive_only: bool = True
    ratings: bool = False
    threads: int = 2

    def __post_init__(self) -> None:
        check_settings(self, positive=("threads",), non_negative=("l2",))


@dataclass(frozen=True)
class EASERecommender:
    """A fitted EASE: `inputs` (users x items CSR, float64) is X, `weights` (items x
    items, float64) is B, both following `matrix`'s users and items.

    Every requested user must be in training (UnknownIdsError otherwise): EASE
    scores a user from their training row.
    """

    matrix: TrainingMatrix
    inputs: CsrMatrix
    weights: NDArray[np.float64]

    @property
    def name(self) -> str:
        return NAME

    def scores(self, rows: NDArray[np.intp]) -> NDArray[np.float64]:
        """Scores (rows x training items, float64) of the users at positions `rows`."""
        return np.asarray(self.inputs[rows] @ self.weights, dtype=np.float64)

    def recommend(self, users: NDArray[np.int64], k: int, *, remove_seen: bool = True) -> TopK:
        """The top k items of each user by X[user] B; ties go to the lower item id."""
        return recommend_by_scores(self.matrix, self.scores, users, k, remove_seen, NAME)


def fit_ease(train: Interactions, config: EASEConfig | None = None) -> EASERecommender:
    """Fits EASE on `train` (not modified); raises ValueError for empty training data.

    With `ratings`, a pair seen twice keeps its first rating, as cornac does.
    """
    config = EASEConfig() if config is None else config
    matrix = TrainingMatrix.of(train)
    fit = ease_fit(
        matrix.users.positions(train.users, "user", "in training"),
        matrix.items.positions(train.items, "item", "in training"),
        train.ratings if config.ratings else np.ones(len(train), dtype=np.float32),
        (len(matrix.users), len(matrix.items)),
        config.l2,
        config.positive_only,
        config.threads,
    )
    return EASERecommender(matrix=matrix, inputs=fit.inputs, weights=fit.weights)
