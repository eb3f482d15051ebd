"""Tests for recmesh.data.columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recmesh.data.columns import interactions_from, require_known
from recmesh.data.errors import DataFormatError
from recmesh.data.parsing import read_table


def test_missing_rating_and_timestamp_default_to_one_and_zero(tmp_path: Path) -> None:
    """Without rating and timestamp columns, ratings are 1.0 and timestamps 0."""
    path = tmp_path / "events.csv"
    path.write_bytes(b"u,i\n1,2\n3,4\n")
    table = read_table(path, delimiter=",", has_header=True)
    interactions = interactions_from(table, user=0, item=1, rating=None, timestamp=None)
    assert interactions.users.tolist() == [1, 3]
    assert interactions.items.tolist() == [2, 4]
    assert interactions.ratings.tolist() == [1.0, 1.0]
    assert interactions.ratings.dtype == np.float32
    assert interactions.timestamps.tolist() == [0, 0]


def test_require_known_names_the_first_unknown_id_and_its_line(tmp_path: Path) -> None:
    """An id missing from the known set is reported at the first row holding it."""
    path = tmp_path / "ratings.tsv"
    path.write_bytes(b"1\t10\n1\t99\n1\t98\n")
    table = read_table(path, delimiter="\t", has_header=False)
    items = interactions_from(table, user=0, item=1, rating=None, timestamp=None).items
    with pytest.raises(DataFormatError) as caught:
        require_known(table, items, np.array([10], dtype=np.int64), "item", "items.tsv")
    assert str(caught.value) == "ratings.tsv:2: item 99 is not in items.tsv"
