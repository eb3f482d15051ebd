"""A snapshot whose latent factors come from implicit's BPR (`latent_model: bpr`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import sparse

from recmesh.snapshot.bpr import BPR_ITERATIONS, BPR_LEARNING_RATE, BPR_SEED, bpr_factors
from recmesh.snapshot.config import SnapshotConfig
from tests.snapshot.datasets import EXAMPLE_CONFIG, example_snapshot

_BPR = dataclasses.replace(
    EXAMPLE_CONFIG, latent_model="bpr", latent_factors=3, latent_shrinkage=0.01
)


def test_a_bpr_config_round_trips_and_needs_room_for_the_bias() -> None:
    """latent_model bpr is written and read back; latent_factors 1 (bias only) is refused."""
    assert SnapshotConfig.from_json(_BPR.to_json()) == _BPR
    assert '"latent_model":"bpr"' in _BPR.to_json()
    with pytest.raises(ValueError, match="latent_factors 0 or at least 2"):
        dataclasses.replace(_BPR, latent_factors=1)
    assert dataclasses.replace(_BPR, latent_factors=0).latent_factors == 0


def test_a_bpr_snapshot_holds_implicits_factors_with_the_bias_column() -> None:
    """Factors equal bpr_factors (k - 1 plus the bias) of the binary history; user 5,
    without history, gets a zero row; the width is latent_factors."""
    snapshot = example_snapshot(_BPR)
    n_users, n_items = snapshot.user_factors.shape[0], snapshot.item_factors.shape[0]
    items = snapshot.history_items
    seen = sparse.csr_matrix(
        (np.ones(items.shape[0], dtype=np.float32), items, snapshot.history_indptr),
        shape=(n_users, n_items),
    )
    expected = bpr_factors(seen, 2, BPR_LEARNING_RATE, 0.01, BPR_ITERATIONS, BPR_SEED)
    assert snapshot.item_factors.shape == (n_items, 3)
    assert np.array_equal(snapshot.item_factors, expected.items)
    assert np.array_equal(snapshot.user_factors[:4], expected.users[:4])
    assert (snapshot.user_factors[:4, 2] == 1.0).all()
    assert not snapshot.user_factors[4].any()
    assert np.array_equal(example_snapshot(_BPR).item_factors, snapshot.item_factors)
