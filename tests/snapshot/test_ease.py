"""A snapshot with EASE's neighbour lists (`ease_neighbors_per_item` above 0)."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile

import numpy as np
import pytest

from recmesh.snapshot.codec import snapshot_from_bytes, snapshot_to_bytes
from recmesh.snapshot.config import SnapshotConfig
from recmesh.snapshot.ease import top_weights
from recmesh.snapshot.errors import SnapshotFormatError
from recmesh.snapshot.validate import check_snapshot
from tests.snapshot.datasets import EXAMPLE_CONFIG, example_snapshot

_EASE = dataclasses.replace(EXAMPLE_CONFIG, ease_neighbors_per_item=2, ease_l2=1.0)
_FIRST_FIELDS = {
    "affinity_half_life_days",
    "popularity_half_life_days",
    "similarity",
    "neighbors_per_item",
    "min_cooccurrence",
    "recent_window_days",
    "latent_factors",
    "latent_shrinkage",
}


def test_top_weights_keeps_each_rows_largest_positive_weights() -> None:
    """Largest first, ties to the lower column, nothing at or below 0, n above the width."""
    weights = np.array(
        [[0, 3, 1, 3], [-1, 0, 0, 0], [2, 2, 2, 0], [0.5, 0, 0, 0]], dtype=np.float64
    )
    found = top_weights(weights, 2)
    assert found.indptr.tolist() == [0, 2, 2, 4, 5]
    assert found.indices.tolist() == [1, 3, 0, 1, 0]
    assert found.values.tolist() == [3, 3, 2, 2, 0.5]
    assert top_weights(weights, 10).indptr.tolist() == [0, 3, 3, 6, 7]


def test_the_neighbour_lists_are_the_top_weights_of_eases_closed_form() -> None:
    """B = I - P / diag(P), P = (X'X + l2 I)^-1, negatives dropped: each row's top 2."""
    snapshot = example_snapshot(_EASE)
    x = np.zeros((snapshot.n_users, snapshot.n_items))
    rows = np.repeat(np.arange(snapshot.n_users), np.diff(snapshot.history_indptr))
    x[rows, snapshot.history_items] = 1.0
    p = np.linalg.inv(x.T @ x + 1.0 * np.eye(snapshot.n_items))
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    expected = top_weights(np.maximum(b, 0.0), 2)
    assert snapshot.ease_indptr.tolist() == expected.indptr.tolist()
    assert snapshot.ease_indices.tolist() == expected.indices.tolist()
    assert snapshot.ease_values == pytest.approx(expected.values, rel=1e-5)
    assert np.diff(snapshot.ease_indptr).max() == 2


def test_without_ease_the_config_json_and_the_archive_are_as_before() -> None:
    """EASE off: no ease field in the config JSON, no ease entry in the archive."""
    assert set(json.loads(SnapshotConfig().to_json())) == _FIRST_FIELDS
    snapshot = example_snapshot()
    assert snapshot.ease_indptr.shape == (0,)
    with zipfile.ZipFile(io.BytesIO(snapshot_to_bytes(snapshot))) as archive:
        assert not [name for name in archive.namelist() if name.startswith("ease")]


def test_an_ease_config_round_trips_and_bad_values_are_refused() -> None:
    """All three ease fields are written and read back; a partial group or a bad value is
    refused."""
    assert SnapshotConfig.from_json(_EASE.to_json()) == _EASE
    body = json.loads(_EASE.to_json())
    del body["ease_share"]
    with pytest.raises(SnapshotFormatError, match="fields"):
        SnapshotConfig.from_json(json.dumps(body))
    for bad in ({"ease_l2": 0.0}, {"ease_share": 1.0}, {"ease_neighbors_per_item": -1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            dataclasses.replace(_EASE, **bad)


def test_an_ease_snapshot_round_trips_through_its_bytes() -> None:
    """The neighbour lists survive encoding; the same snapshot encodes to the same bytes."""
    snapshot = example_snapshot(_EASE)
    data = snapshot_to_bytes(snapshot)
    decoded = snapshot_from_bytes(data)
    assert decoded.config == _EASE
    assert np.array_equal(decoded.ease_indptr, snapshot.ease_indptr)
    assert np.array_equal(decoded.ease_indices, snapshot.ease_indices)
    assert np.array_equal(decoded.ease_values, snapshot.ease_values)
    assert snapshot_to_bytes(decoded) == data


def test_broken_ease_lists_are_refused() -> None:
    """Lists with EASE off, longer than N, or naming the item itself are format errors."""
    with_ease = example_snapshot(_EASE)
    without = dataclasses.replace(with_ease, config=EXAMPLE_CONFIG)
    with pytest.raises(SnapshotFormatError, match="EASE is off"):
        check_snapshot(without)
    shorter = dataclasses.replace(
        with_ease, config=dataclasses.replace(_EASE, ease_neighbors_per_item=1)
    )
    with pytest.raises(SnapshotFormatError, match="more than 1 ease neighbours"):
        check_snapshot(shorter)
    own = np.repeat(np.arange(with_ease.n_items), np.diff(with_ease.ease_indptr))
    with pytest.raises(SnapshotFormatError, match="its own ease neighbour"):
        check_snapshot(dataclasses.replace(with_ease, ease_indices=own))
