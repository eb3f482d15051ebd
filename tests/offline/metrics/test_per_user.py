"""PerUserMetrics: shape checks, means, selecting users, merging aligned metric sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from offline.errors import MisalignedUsersError
from offline.metrics.per_user import PerUserMetrics, require_metrics, require_same_users


def _metrics(users: list[int], **values: list[float]) -> PerUserMetrics:
    return PerUserMetrics(
        users=np.array(users, dtype=np.int64),
        values={name: np.array(v, dtype=np.float64) for name, v in values.items()},
    )


def test_means_are_plain_means_over_users() -> None:
    """The aggregate of a metric is its unweighted mean over the users."""
    metrics = _metrics([1, 2, 5], a=[1.0, 0.0, 0.5], b=[3.0, 3.0, 0.0])
    assert metrics.means() == {"a": 0.5, "b": 2.0}
    assert metrics.names == ("a", "b")
    assert math.isnan(_metrics([], a=[]).mean("a"))


def test_select_keeps_the_chosen_users_of_every_metric() -> None:
    """select(mask) subsets users and every metric alike."""
    chosen = _metrics([1, 2, 5], a=[1.0, 0.0, 0.5]).select(np.array([True, False, True]))
    assert chosen.users.tolist() == [1, 5]
    assert chosen.values["a"].tolist() == [1.0, 0.5]


def test_values_are_read_only() -> None:
    """The metric mapping cannot be changed after construction."""
    metrics = _metrics([1], a=[1.0])
    with pytest.raises(TypeError):
        metrics.values["b"] = np.zeros(1)  # type: ignore[index]


def test_constructor_rejects_unsorted_users_and_misshapen_metrics() -> None:
    """Users must be sorted and distinct; each metric float64 of the users' length."""
    with pytest.raises(ValueError, match="sorted"):
        _metrics([2, 1], a=[0.0, 0.0])
    with pytest.raises(ValueError, match="shape"):
        _metrics([1, 2], a=[0.0])
    with pytest.raises(ValueError, match="float64"):
        PerUserMetrics(users=np.array([1], dtype=np.int64), values={"a": np.zeros(1, np.float32)})


def test_merged_joins_metrics_over_the_same_users() -> None:
    """Two metric sets over identical users merge; a clash of names is an error."""
    merged = _metrics([1, 2], a=[1.0, 2.0]).merged(_metrics([1, 2], b=[3.0, 4.0]))
    assert merged.names == ("a", "b")
    with pytest.raises(ValueError, match="both sides: a"):
        merged.merged(_metrics([1, 2], a=[0.0, 0.0]))


def test_different_users_are_misaligned() -> None:
    """require_same_users raises MisalignedUsersError counting the users on each side."""
    with pytest.raises(MisalignedUsersError, match="1 only in the first, 1 only in the second"):
        require_same_users(_metrics([1, 2], a=[0, 0]), _metrics([1, 3], a=[0, 0]))


def test_require_metrics_names_the_missing_metric() -> None:
    """A missing metric is a KeyError naming it and listing those present."""
    with pytest.raises(KeyError, match=r"'ndcg@10'.*have: a"):
        require_metrics(_metrics([1], a=[0.0]), ["a", "ndcg@10"])
