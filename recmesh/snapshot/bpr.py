"""Latent factors by implicit's BPR (Bayesian Personalised Ranking).

The snapshot's `latent_model` "bpr" and the fit behind the offline implicit BPR baseline.
Each epoch is one SGD step per seen pair against a sampled unseen item
(`verify_negative_samples`), drawn in proportion to its popularity (implicit's issue 255).
Runs on the CPU only (`implicit.cpu`, never its GPU factory) on one thread: implicit's
BPR updates the factors lock-free from every thread, so only one thread gives the same
factors for the same `seed`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from implicit.cpu.bpr import BayesianPersonalizedRanking

from recmesh.snapshot.latent import LatentFactors

#: A snapshot's BPR settings besides the factors and the regularization (its
#: latent_factors and latent_shrinkage), and the offline implicit BPR baseline's defaults:
#: chosen there on hold-outs of TRAIN (docs/experiments.md, "Quality").
BPR_LEARNING_RATE = 0.001
BPR_ITERATIONS = 400
BPR_SEED = 42


def bpr_factors(
    seen: Any,
    factors: int,
    learning_rate: float,
    regularization: float,
    iterations: int,
    seed: int,
) -> LatentFactors:
    """Factors of the users x items CSR `seen` (its nonzero pairs are the positives):
    `factors` + 1 columns, the last the item's bias in `items` and 1 in `users`, so the
    score of item i for user u is `users[u] @ items[i]`."""
    model = BayesianPersonalizedRanking(
        factors=factors,
        learning_rate=learning_rate,
        regularization=regularization,
        iterations=iterations,
        num_threads=1,
        verify_negative_samples=True,
        random_state=seed,
    )
    model.fit(seen.astype(np.float32), show_progress=False)
    return LatentFactors(
        users=np.asarray(model.user_factors, dtype=np.float32),
        items=np.asarray(model.item_factors, dtype=np.float32),
    )
