"""What a user consumed after a request, from an interactions table."""

from __future__ import annotations

from offline.shadow.consumed import ConsumedAfter
from tests.offline.factories import interactions


def test_only_later_interactions_within_the_horizon_count() -> None:
    """User 1's items after t = 100: all later ones, or those up to 100 + horizon."""
    consumed = ConsumedAfter(
        interactions([(1, 10, 1.0, 50), (1, 11, 1.0, 100), (1, 12, 1.0, 150), (1, 13, 1.0, 900),
                      (2, 20, 1.0, 150)])
    )  # fmt: skip
    assert consumed.items("1", 100.0) == {12, 13}
    assert consumed.items("1", 100.0, horizon_s=60.0) == {12}
    assert consumed.items("2", 100.0) == {20}


def test_an_unknown_or_non_numeric_user_consumed_nothing() -> None:
    """No rows, or an id the table cannot hold, give an empty set."""
    consumed = ConsumedAfter(interactions([(1, 10, 1.0, 150)]))
    assert consumed.items("3", 0.0) == frozenset()
    assert consumed.items("alice", 0.0) == frozenset()
    assert ConsumedAfter(interactions([])).items("1", 0.0) == frozenset()
