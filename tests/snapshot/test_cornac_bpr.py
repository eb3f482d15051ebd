"""A snapshot whose latent factors come from cornac's BPR (`latent_model: cornac_bpr`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from recmesh.snapshot.config import SnapshotConfig
from recmesh.snapshot.cornac_bpr import (
    CORNAC_BPR_ITERATIONS,
    CORNAC_BPR_LEARNING_RATE,
    CORNAC_BPR_SEED,
    cornac_bpr_factors,
)
from tests.snapshot.datasets import EXAMPLE_CONFIG, example_snapshot

_CORNAC_BPR = dataclasses.replace(
    EXAMPLE_CONFIG, latent_model="cornac_bpr", latent_factors=3, latent_shrinkage=0.01
)


def test_a_cornac_bpr_config_round_trips_and_needs_room_for_the_bias() -> None:
    """latent_model cornac_bpr is written and read back; latent_factors 1 is refused."""
    assert SnapshotConfig.from_json(_CORNAC_BPR.to_json()) == _CORNAC_BPR
    assert '"latent_model":"cornac_bpr"' in _CORNAC_BPR.to_json()
    with pytest.raises(ValueError, match="latent_factors 0 or at least 2"):
        dataclasses.replace(_CORNAC_BPR, latent_factors=1)


def test_a_cornac_bpr_snapshot_holds_cornacs_factors_with_the_bias_column() -> None:
    """Factors equal cornac_bpr_factors (k - 1 plus the bias) of the history's pairs in
    CSR order; user 5, without history, gets a zero row; the width is latent_factors."""
    snapshot = example_snapshot(_CORNAC_BPR)
    shape = (snapshot.user_factors.shape[0], snapshot.item_factors.shape[0])
    users = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(snapshot.history_indptr))
    expected = cornac_bpr_factors(
        users,
        snapshot.history_items,
        shape,
        2,
        CORNAC_BPR_LEARNING_RATE,
        0.01,
        CORNAC_BPR_ITERATIONS,
        CORNAC_BPR_SEED,
    )
    assert snapshot.item_factors.shape == (shape[1], 3)
    assert np.array_equal(snapshot.item_factors, expected.items)
    assert np.array_equal(snapshot.user_factors[:4], expected.users[:4])
    assert (snapshot.user_factors[:4, 2] == 1.0).all()
    assert not snapshot.user_factors[4].any()
    assert snapshot.item_factors[:, :2].any()
    assert np.array_equal(example_snapshot(_CORNAC_BPR).item_factors, snapshot.item_factors)
