"""QuotaMerger: quotas, overflow, dedupe, seen removal and the merged order."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from recmesh.core.candidates.merger import QuotaMerger
from recmesh.core.candidates.sources.base import SourceResult

SOURCES = ("a", "b", "c")


def result(items: list[int]) -> SourceResult:
    """Items best first, with scores 100, 99, ..."""
    return SourceResult(
        np.array(items, dtype=np.int64), np.arange(100, 100 - len(items), -1, dtype=np.float32)
    )


def nothing_seen(n_items: int = 100) -> NDArray[np.bool_]:
    return np.zeros(n_items, dtype=np.bool_)


def test_quotas_sum_to_n_with_largest_remainders() -> None:
    """Shares 0.5/0.3/0.2 of 7 are 3.5/2.1/1.4: floors 3/2/1, the spare one to 'a' (0.5)."""
    merger = QuotaMerger(SOURCES, [0.5, 0.3, 0.2])
    assert merger.quotas(7) == (4, 2, 1)
    assert merger.quotas(10) == (5, 3, 2)
    assert sum(merger.quotas(499)) == 499


def test_equal_remainders_go_to_the_earlier_source() -> None:
    """Thirds of 4: 1.33 each, the spare one to the first source."""
    assert QuotaMerger(SOURCES, [1 / 3, 1 / 3, 1 / 3]).quotas(4) == (2, 1, 1)


def test_each_source_gets_its_quota_when_all_have_enough() -> None:
    """6 candidates at 0.5/0.33/0.17: three from a, two from b, one from c, grouped in order."""
    merger = QuotaMerger(SOURCES, [0.5, 1 / 3, 1 / 6])
    merged = merger.merge(
        [result([1, 2, 3, 4]), result([11, 12, 13]), result([21, 22])], 6, nothing_seen()
    )
    assert merged.item_indices.tolist() == [1, 2, 3, 11, 12, 21]
    assert merged.source_indices.tolist() == [0, 0, 0, 1, 1, 2]
    assert merged.source_scores.tolist() == [100, 99, 98, 100, 99, 100]
    assert merged.sources == SOURCES


def test_unused_quota_flows_to_the_other_sources_in_priority_order() -> None:
    """'a' finds one item of its four; 'b' takes the spare quota first, then 'c'."""
    merger = QuotaMerger(SOURCES, [0.5, 0.25, 0.25])
    merged = merger.merge(
        [result([1]), result([11, 12, 13, 14]), result([21, 22, 23, 24])], 8, nothing_seen()
    )
    assert merged.item_indices.tolist() == [1, 11, 12, 13, 14, 21, 22, 23]
    assert merged.source_indices.tolist() == [0, 1, 1, 1, 1, 2, 2, 2]


def test_user_without_history_gets_the_popularity_path() -> None:
    """Personal sources empty: the last source fills all n."""
    merged = QuotaMerger(SOURCES, [0.6, 0.2, 0.2]).merge(
        [result([]), result([]), result([5, 6, 7, 8])], 3, nothing_seen()
    )
    assert merged.item_indices.tolist() == [5, 6, 7]
    assert merged.source_indices.tolist() == [2, 2, 2]


def test_duplicates_belong_to_the_first_source_that_takes_them() -> None:
    """Item 2 found by 'a' and 'b' appears once, from 'a', with a's score; 'b' moves on."""
    merger = QuotaMerger(SOURCES, [0.5, 0.5, 0.0])
    merged = merger.merge([result([1, 2]), result([2, 3]), result([])], 4, nothing_seen())
    assert merged.item_indices.tolist() == [1, 2, 3]
    assert merged.source_indices.tolist() == [0, 0, 1]
    assert merged.source_scores.tolist() == [100, 99, 99]


def test_an_item_beyond_a_sources_quota_can_be_taken_by_a_later_source() -> None:
    """'a' ranks item 9 beyond its quota, 'b' ranks it first: pass 1 gives it to 'b'."""
    merger = QuotaMerger(SOURCES, [0.5, 0.5, 0.0])
    merged = merger.merge([result([1, 9]), result([9, 8]), result([])], 2, nothing_seen())
    assert merged.item_indices.tolist() == [1, 9]
    assert merged.source_indices.tolist() == [0, 1]


def test_consumed_items_are_removed_even_if_a_source_returns_them() -> None:
    """A faulty source cannot leak seen items into the merged list."""
    seen = nothing_seen()
    seen[[1, 11]] = True
    merged = QuotaMerger(SOURCES, [0.4, 0.4, 0.2]).merge(
        [result([1, 2]), result([11, 12]), result([21])], 5, seen
    )
    assert merged.item_indices.tolist() == [2, 12, 21]


def test_fewer_than_n_when_the_sources_run_out() -> None:
    """Five distinct items in all: a request for ten gets five."""
    merged = QuotaMerger(SOURCES, [0.4, 0.4, 0.2]).merge(
        [result([1, 2]), result([2, 3]), result([4, 5])], 10, nothing_seen()
    )
    assert sorted(merged.item_indices.tolist()) == [1, 2, 3, 4, 5]
    assert len(merged) == 5


def test_merged_list_dtypes() -> None:
    """int64 items, uint8 source indices, float32 scores, even when empty."""
    for results in ([result([1]), result([]), result([])], [result([])] * 3):
        merged = QuotaMerger(SOURCES, [0.4, 0.4, 0.2]).merge(results, 3, nothing_seen())
        assert merged.item_indices.dtype == np.int64
        assert merged.source_indices.dtype == np.uint8
        assert merged.source_scores.dtype == np.float32


@pytest.mark.parametrize(
    ("sources", "shares"),
    [
        (("a", "b"), [0.5, 0.6]),
        (("a", "b"), [1.5, -0.5]),
        (("a", "a"), [0.5, 0.5]),
        (("a",), [0.5, 0.5]),
        ((), []),
    ],
)
def test_invalid_shares_or_sources_are_refused(
    sources: tuple[str, ...], shares: list[float]
) -> None:
    """Shares must be non-negative, one per distinct source, and sum to 1."""
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        QuotaMerger(sources, shares)


def test_result_count_must_match_the_sources() -> None:
    """Merging two results for three sources is a programmer error."""
    with pytest.raises(ValueError, match="expected 3 results"):
        QuotaMerger(SOURCES, [0.4, 0.4, 0.2]).merge([result([1])] * 2, 3, nothing_seen())
