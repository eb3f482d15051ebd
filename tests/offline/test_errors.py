"""The offline errors: their base classes and messages."""

from __future__ import annotations

import numpy as np

from offline.errors import (
    MisalignedUsersError,
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


def test_unknown_ids_message_counts_and_shows_the_first_five_sorted() -> None:
    """Seven unknown ids: the count, the five smallest, and an ellipsis."""
    error = UnknownIdsError("user", np.array([9, 3, 7, 1, 5, 2, 8, 3]), "in the test set")
    assert str(error) == "7 unknown user id(s) in the test set: [1, 2, 3, 5, 7, ...]"
    assert error.ids.tolist() == [1, 2, 3, 5, 7, 8, 9]


def test_split_spec_message_reads_plainly() -> None:
    """The message quotes the input."""
    assert str(SplitSpecError("x:1", "boom")) == "bad split spec 'x:1': boom"
