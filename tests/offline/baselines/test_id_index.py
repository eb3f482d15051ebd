"""IdIndex: raw ids to contiguous positions, unknown ids reported."""

from __future__ import annotations

import numpy as np
import pytest

from offline.baselines.id_index import IdIndex
from offline.errors import UnknownIdsError


def test_positions_follow_ascending_id_order() -> None:
    """Distinct ids get positions 0..n-1 in ascending order, whatever the input order."""
    index = IdIndex.of(np.array([30, 10, 20, 10], dtype=np.int64))
    assert index.ids.tolist() == [10, 20, 30]
    assert len(index) == 3
    assert index.positions(np.array([20, 30, 10]), "item", "here").tolist() == [1, 2, 0]


def test_lookup_flags_unknown_ids() -> None:
    """lookup returns a known mask, with position 0 for unknown ids."""
    position, known = IdIndex.of(np.array([5, 7])).lookup(np.array([7, 6, 99]))
    assert position.tolist() == [1, 0, 0]
    assert known.tolist() == [True, False, False]
    empty_position, empty_known = IdIndex.of(np.zeros(0, np.int64)).lookup(np.array([1]))
    assert empty_known.tolist() == [False]
    assert empty_position.tolist() == [0]


def test_positions_of_unknown_ids_raise_with_the_ids() -> None:
    """positions() raises UnknownIdsError with the count and the unknown ids."""
    with pytest.raises(UnknownIdsError, match=r"2 unknown user id\(s\) in training: \[6, 99\]"):
        IdIndex.of(np.array([5, 7])).positions(np.array([99, 5, 6]), "user", "in training")
