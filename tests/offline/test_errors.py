"""The offline errors: their base classes and messages."""

from __future__ import annotations

import numpy as np

from offline.errors import (
    MisalignedUsersError,
    MissingEstimateError,
    OfflineError,
    SplitSpecError,
    UnknownIdsError,
)


def test_every_error_is_an_offline_error_and_the_natural_builtin() -> None:
    """Callers may catch OfflineError, or ValueError / KeyError as they would expect."""
    assert issubclass(SplitSpecError, OfflineError)
    assert issubclass(SplitSpecError, ValueError)
    assert issubclass(UnknownIdsError, ValueError)
    assert issubclass(MisalignedUsersError, ValueError)
    assert issubclass(MissingEstimateError, KeyError)


def test_unknown_ids_message_counts_and_shows_the_first_five_sorted() -> None:
    """Seven unknown ids: the count, the five smallest, and an ellipsis."""
    error = UnknownIdsError("user", np.array([9, 3, 7, 1, 5, 2, 8, 3]), "in the test set")
    assert str(error) == "7 unknown user id(s) in the test set: [1, 2, 3, 5, 7, ...]"
    assert error.ids.tolist() == [1, 2, 3, 5, 7, 8, 9]


def test_split_spec_and_missing_estimate_messages_read_plainly() -> None:
    """The messages quote the input and have no stray quoting from KeyError."""
    assert str(SplitSpecError("x:1", "boom")) == "bad split spec 'x:1': boom"
    error = MissingEstimateError("ndcg@10", ["map"])
    assert str(error) == "no estimate for metric 'ndcg@10' (have: map)"
    assert error.metric == "ndcg@10"
