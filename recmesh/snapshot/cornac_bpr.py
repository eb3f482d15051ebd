"""Latent factors by cornac's BPR (Bayesian Personalised Ranking, uniform negatives).

The snapshot's `latent_model` "cornac_bpr" and the fit behind the offline cornac BPR
baseline. Each epoch is as many SGD steps as seen pairs, each against an item drawn
uniformly from the catalogue (skipped when the user saw it). With a seed cornac runs on
one thread, so a fit is the same for the same `seed`.
"""

from __future__ import annotations

import numpy as np
from cornac.models import BPR
from numpy.typing import NDArray

from recmesh.snapshot.cornac_data import cornac_dataset
from recmesh.snapshot.latent import LatentFactors

#: A snapshot's cornac BPR settings besides the factors and the regularization (its
#: latent_factors and latent_shrinkage), and the offline cornac BPR baseline's defaults:
#: chosen there on hold-outs of TRAIN (docs/experiments.md, "Quality").
CORNAC_BPR_LEARNING_RATE = 0.05
CORNAC_BPR_ITERATIONS = 100
CORNAC_BPR_SEED = 42


def cornac_bpr_factors(
    users: NDArray[np.int64],
    items: NDArray[np.int64],
    shape: tuple[int, int],
    factors: int,
    learning_rate: float,
    regularization: float,
    iterations: int,
    seed: int,
) -> LatentFactors:
    """Factors of the positive pairs (`users[j]`, `items[j]`), positions in a `shape`
    users x items matrix, in the order cornac samples them by (a repeated pair counts
    once): `factors` + 1 columns, the last the item's bias in `items` and 1 in `users`,
    so the score of item i for user u is `users[u] @ items[i]`."""
    model = BPR(
        k=factors,
        max_iter=iterations,
        learning_rate=learning_rate,
        lambda_reg=regularization,
        use_bias=True,
        verbose=False,
        seed=seed,
    )
    model.fit(cornac_dataset(users, items, np.ones(users.shape[0], dtype=np.float32), shape))
    user_factors = np.asarray(model.u_factors, dtype=np.float32)
    biases = np.asarray(model.i_biases, dtype=np.float32)[:, None]
    return LatentFactors(
        users=np.hstack([user_factors, np.ones((shape[0], 1), dtype=np.float32)]),
        items=np.hstack([np.asarray(model.i_factors, dtype=np.float32), biases]),
    )
