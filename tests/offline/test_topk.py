"""TopK: the invariants its constructor enforces, and restricting it to users."""

from __future__ import annotations

import numpy as np
import pytest

from offline.errors import UnknownIdsError
from offline.topk import PAD, TopK
from tests.offline.factories import topk


def _topk(items: list[list[int]], scores: list[list[float]], users: list[int]) -> TopK:
    return TopK(
        users=np.array(users, dtype=np.int64),
        items=np.array(items, dtype=np.int64),
        scores=np.array(scores, dtype=np.float32),
    )


def test_valid_lists_with_trailing_padding_are_accepted() -> None:
    """A list shorter than k is padded with PAD and -inf at its end."""
    lists = _topk([[5, 3, PAD], [1, 2, 4]], [[2.0, 1.0, -np.inf], [3.0, 3.0, 1.0]], [7, 9])
    assert lists.k == 3
    assert len(lists) == 2
    assert lists.lengths().tolist() == [2, 3]
    assert lists.valid(2).tolist() == [[True, True], [True, True]]


@pytest.mark.parametrize(
    ("items", "scores", "users", "message"),
    [
        ([[1, PAD, 2]], [[2.0, -np.inf, 1.0]], [1], "empty slots must come after"),
        ([[1, 1]], [[2.0, 1.0]], [1], "distinct within a row"),
        ([[1, 2]], [[1.0, 2.0]], [1], "must not increase"),
        ([[1, 2], [3, 4]], [[2.0, 1.0], [2.0, 1.0]], [1, 1], "users must be distinct"),
        ([[1, PAD]], [[2.0, 0.0]], [1], "-inf in empty slots"),
        ([[1, 2]], [[np.nan, 1.0]], [1], "finite for real items"),
        ([[1, -5]], [[2.0, 1.0]], [1], "item ids must be >= 0"),
    ],
)
def test_constructor_rejects_broken_invariants(
    items: list[list[int]], scores: list[list[float]], users: list[int], message: str
) -> None:
    """Each invariant violation is a ValueError that says which one."""
    with pytest.raises(ValueError, match=message):
        _topk(items, scores, users)


def test_constructor_rejects_wrong_dtypes_and_shapes() -> None:
    """Ids must be int64, scores float32, and items/scores the same (n, k>=1) shape."""
    with pytest.raises(ValueError, match="int64 users"):
        TopK(
            users=np.array([1], dtype=np.int32),
            items=np.array([[1]], dtype=np.int64),
            scores=np.array([[1.0]], dtype=np.float32),
        )
    with pytest.raises(ValueError, match="shapes"):
        TopK(
            users=np.array([1], dtype=np.int64),
            items=np.array([[1, 2]], dtype=np.int64),
            scores=np.array([[1.0]], dtype=np.float32),
        )
    with pytest.raises(ValueError, match="k>=1"):
        TopK(
            users=np.array([1], dtype=np.int64),
            items=np.zeros((1, 0), dtype=np.int64),
            scores=np.zeros((1, 0), dtype=np.float32),
        )


def test_restrict_returns_the_lists_of_the_given_users_in_their_order() -> None:
    """restrict(users) reorders rows to follow `users`."""
    lists = topk({1: [10], 2: [20], 3: [30]}, k=1)
    picked = lists.restrict(np.array([3, 1], dtype=np.int64))
    assert picked.users.tolist() == [3, 1]
    assert picked.items[:, 0].tolist() == [30, 10]


def test_restrict_to_a_user_without_a_list_raises() -> None:
    """A user missing from the lists is an UnknownIdsError naming them."""
    lists = topk({1: [10]}, k=1)
    with pytest.raises(UnknownIdsError, match=r"\[4\]"):
        lists.restrict(np.array([1, 4], dtype=np.int64))
    empty = topk({}, k=1)
    assert len(empty.restrict(np.zeros(0, dtype=np.int64))) == 0
