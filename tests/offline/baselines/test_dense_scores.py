"""Lists from dense score rows: the training matrix, seen removal, ties, unknown users."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from offline.baselines.dense_scores import TrainingMatrix, recommend_by_scores
from offline.errors import UnknownIdsError
from offline.topk import PAD
from tests.offline.factories import pairs

# Users 1 and 2; items 10, 11, 12 (positions 0, 1, 2). User 1 saw 10 twice.
_TRAIN = pairs([(2, 12), (1, 10), (1, 10), (2, 11)])


def _scores(rows: NDArray[np.intp]) -> NDArray[np.float64]:
    """Item 12 and item 10 tie at 2 for everyone, item 11 scores 1."""
    return np.tile(np.array([2.0, 1.0, 2.0]), (rows.shape[0], 1))


def test_training_matrix_holds_each_distinct_pair_once() -> None:
    """Ids sort ascending; a repeated pair is a single 1."""
    matrix = TrainingMatrix.of(_TRAIN)
    assert matrix.users.ids.tolist() == [1, 2]
    assert matrix.items.ids.tolist() == [10, 11, 12]
    assert matrix.seen.toarray().tolist() == [[1, 0, 0], [0, 1, 1]]


def test_empty_training_data_is_refused() -> None:
    """No pairs, no model: ValueError."""
    with pytest.raises(ValueError, match="empty"):
        TrainingMatrix.of(pairs([]))


def test_seen_items_are_removed_and_ties_go_to_the_lower_id() -> None:
    """User 1 gets 12 then 11; user 2 has only 10 left, then an empty slot."""
    matrix = TrainingMatrix.of(_TRAIN)
    lists = recommend_by_scores(matrix, _scores, np.array([2, 1], dtype=np.int64), 2, True, "m")
    assert lists.users.tolist() == [2, 1]
    assert lists.items.tolist() == [[10, PAD], [12, 11]]
    assert lists.scores.tolist() == [[2.0, -np.inf], [2.0, 1.0]]


def test_keeping_seen_items_ranks_every_item() -> None:
    """remove_seen=False: the tie 10/12 goes to 10 for both users."""
    matrix = TrainingMatrix.of(_TRAIN)
    lists = recommend_by_scores(matrix, _scores, np.array([1, 2], dtype=np.int64), 3, False, "m")
    assert lists.items.tolist() == [[10, 12, 11], [10, 12, 11]]


def test_an_unknown_user_is_an_error_naming_the_model() -> None:
    """User 9 has no training row: UnknownIdsError mentioning the model."""
    matrix = TrainingMatrix.of(_TRAIN)
    with pytest.raises(UnknownIdsError, match="mymodel"):
        recommend_by_scores(matrix, _scores, np.array([1, 9], dtype=np.int64), 2, True, "mymodel")
