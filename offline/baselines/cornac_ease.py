"""EASE^R (Steck, 2019) from the `cornac` library: a closed-form item x item autoencoder.

B = I - P / diag(P) with P = (X'X + lambda I)^-1 and a zero diagonal, negative
weights dropped (`positive_only`, cornac's `posB`); score(user) = X[user] B.
X is the training matrix, binary (a 1 for each pair seen) or holding the
ratings. No randomness: a fit depends on the data alone. numpy's BLAS and LAPACK
run on `threads` threads during the fit. Defaults: chosen on hold-outs of
TRAIN, see docs/experiments.md "Quality".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cornac.models import EASE
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from offline.baselines.cornac_data import cornac_dataset
from offline.baselines.dense_scores import TrainingMatrix, recommend_by_scores
from offline.baselines.sar_matrices import CsrMatrix
from offline.baselines.settings import check_settings
from offline.topk import TopK
from recmesh.data.dataset import Interactions

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
    dataset = cornac_dataset(matrix, train, ratings=config.ratings)
    model = EASE(lamb=config.l2, posB=config.positive_only, verbose=False)
    with threadpool_limits(limits=config.threads, user_api="blas"):
        model.fit(dataset)
    return EASERecommender(
        matrix=matrix,
        inputs=dataset.matrix.astype(np.float64).tocsr(),
        weights=np.asarray(model.B, dtype=np.float64),
    )
