"""Tests for recmesh.data.fingerprint."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recmesh.data.dataset import Dataset, Interactions
from recmesh.data.fingerprint import fingerprint_interactions
from recmesh.data.generic import load_interactions_file
from recmesh.data.ml100k_layout import RATINGS_FILE


def _interactions(rows: list[tuple[int, int, float, int]]) -> Interactions:
    return Interactions(
        users=np.array([r[0] for r in rows], dtype=np.int64),
        items=np.array([r[1] for r in rows], dtype=np.int64),
        ratings=np.array([r[2] for r in rows], dtype=np.float32),
        timestamps=np.array([r[3] for r in rows], dtype=np.int64),
    )


ROWS = [(1, 10, 4.0, 100), (2, 10, 3.5, 90), (1, 20, 5.0, 80), (1, 10, 2.0, 50)]


def test_fingerprint_is_hex_sha256() -> None:
    """The fingerprint is 64 lowercase hex characters."""
    value = fingerprint_interactions(_interactions(ROWS))
    assert len(value) == 64
    assert set(value) <= set("0123456789abcdef")


def test_fingerprint_ignores_row_order() -> None:
    """The same rows in another order have the same fingerprint."""
    assert fingerprint_interactions(_interactions(ROWS)) == fingerprint_interactions(
        _interactions(ROWS[::-1])
    )


def test_fingerprint_changes_with_any_column() -> None:
    """Changing a user, item, rating or timestamp of one row changes the fingerprint."""
    base = fingerprint_interactions(_interactions(ROWS))
    user, item, rating, timestamp = ROWS[0]
    variants = [
        (user + 1, item, rating, timestamp),
        (user, item + 1, rating, timestamp),
        (user, item, rating + 0.5, timestamp),
        (user, item, rating, timestamp + 1),
    ]
    for variant in variants:
        assert fingerprint_interactions(_interactions([variant, *ROWS[1:]])) != base


def test_fingerprint_treats_negative_zero_rating_as_zero() -> None:
    """-0.0 and 0.0 ratings encode alike."""
    assert fingerprint_interactions(_interactions([(1, 1, -0.0, 0)])) == fingerprint_interactions(
        _interactions([(1, 1, 0.0, 0)])
    )


def test_ml100k_layout_and_generic_tsv_of_same_data_agree(
    ml100k: Dataset, ml100k_dir: Path, tmp_path: Path
) -> None:
    """ml-100k loaded from its cache and from a generic TSV with a header fingerprint alike."""
    generic = tmp_path / "ratings.tsv"
    body = (ml100k_dir / RATINGS_FILE).read_bytes()
    generic.write_bytes(b"user_id\titem_id\trating\ttimestamp\n" + body)
    assert load_interactions_file(generic).fingerprint == ml100k.fingerprint
    assert ml100k.fingerprint == fingerprint_interactions(ml100k.interactions)


def test_one_changed_rating_changes_the_fingerprint(ml100k: Dataset) -> None:
    """Changing one of the 100,000 ratings of ml-100k changes the fingerprint."""
    ratings = ml100k.interactions.ratings.copy()
    ratings[12_345] = ratings[12_345] % 5 + 1
    changed = Interactions(
        users=ml100k.interactions.users,
        items=ml100k.interactions.items,
        ratings=ratings,
        timestamps=ml100k.interactions.timestamps,
    )
    assert fingerprint_interactions(changed) != ml100k.fingerprint
