"""Latent factors by implicit's ALS (Hu, Koren and Volinsky's weighted matrix factorisation).

The snapshot's alternative to the shrunk SVD of `latent` (`SnapshotConfig.latent_model`
"als"), and the fit behind the offline ALS baseline. Runs on the CPU only (`implicit.cpu`,
never its GPU factory) with an explicit thread count, BLAS held to one thread as implicit
asks. The factors start from `seed`, and each user's (and item's) solve is independent of
the others, so the result is the same for any thread count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from recmesh.snapshot.latent import LatentFactors

#: A snapshot's ALS settings besides k and the regularization (its latent_factors and
#: latent_shrinkage), and the offline ALS baseline's defaults: chosen there on hold-outs
#: of TRAIN (docs/experiments.md, "Quality").
ALS_ALPHA = 2.0
ALS_ITERATIONS = 15
ALS_SEED = 42


def als_factors(
    seen: Any,
    factors: int,
    regularization: float,
    alpha: float,
    iterations: int,
    seed: int,
    threads: int,
) -> LatentFactors:
    """Factors of the users x items CSR `seen` (each seen pair weighted by `alpha`,
    implicit's confidence); the score of item i for user u is `users[u] @ items[i]`."""
    # implicit checks BLAS's thread count when the model is built, and warns above one.
    with threadpool_limits(limits=1, user_api="blas"):
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            num_threads=threads,
            random_state=seed,
        )
        model.fit(seen.astype(np.float32), show_progress=False)
    return LatentFactors(
        users=np.asarray(model.user_factors, dtype=np.float32),
        items=np.asarray(model.item_factors, dtype=np.float32),
    )
