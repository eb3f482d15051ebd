"""A snapshot whose latent factors come from implicit's ALS (`latent_model: als`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import sparse

from recmesh.snapshot.als import ALS_ALPHA, ALS_ITERATIONS, ALS_SEED, als_factors
from recmesh.snapshot.config import SnapshotConfig
from recmesh.snapshot.errors import SnapshotFormatError
from tests.snapshot.datasets import EXAMPLE_CONFIG, EXAMPLE_ITEMS, EXAMPLE_ROWS, example_snapshot

_ALS = dataclasses.replace(
    EXAMPLE_CONFIG, latent_model="als", latent_factors=2, latent_shrinkage=0.1
)


def test_an_svd_config_writes_the_json_it_always_did() -> None:
    """The default leaves latent_model out of the JSON; either form reads back as svd."""
    text = SnapshotConfig().to_json()
    assert "latent_model" not in text
    assert SnapshotConfig.from_json(text).latent_model == "svd"
    explicit = text.replace('{"affinity', '{"latent_model":"svd","affinity')
    assert SnapshotConfig.from_json(explicit) == SnapshotConfig()


def test_an_als_config_round_trips_and_an_unknown_model_is_refused() -> None:
    """latent_model als is written and read back; anything else is refused."""
    assert SnapshotConfig.from_json(_ALS.to_json()) == _ALS
    assert '"latent_model":"als"' in _ALS.to_json()
    with pytest.raises(ValueError, match="latent_model"):
        SnapshotConfig(latent_model="ease")  # type: ignore[arg-type]
    with pytest.raises(SnapshotFormatError, match="latent_model"):
        SnapshotConfig.from_json(_ALS.to_json().replace('"als"', '"ease"'))


def test_an_als_snapshot_holds_implicits_factors() -> None:
    """Factors equal als_factors of the binary history; user 5 (no history) gets zeros."""
    snapshot = example_snapshot(_ALS)
    users = sorted({row[0] for row in EXAMPLE_ROWS})
    rows = [users.index(row[0]) for row in EXAMPLE_ROWS]
    cols = [EXAMPLE_ITEMS.index(row[1]) for row in EXAMPLE_ROWS]
    seen = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)),
        shape=(len(users) + 1, len(EXAMPLE_ITEMS)),
    )
    expected = als_factors(seen, 2, 0.1, ALS_ALPHA, ALS_ITERATIONS, ALS_SEED, threads=1)
    assert snapshot.user_ids.tolist() == [*users, 5]
    assert np.array_equal(snapshot.item_factors, expected.items)
    assert np.array_equal(snapshot.user_factors[:4], expected.users[:4])
    assert not snapshot.user_factors[4].any()
    assert snapshot.user_factors[:4].any()
    assert not np.array_equal(snapshot.item_factors, example_snapshot().item_factors[:, :2])
