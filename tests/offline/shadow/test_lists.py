"""Overlap@k, rank-biased overlap and hits of hand-made lists."""

from __future__ import annotations

import pytest

from offline.shadow.lists import hit, overlap_at_k, rank_biased_overlap


def test_overlap_and_rbo_match_a_hand_computed_case() -> None:
    """Champion [1, 2, 3] against challenger [2, 5, 1] at k = 3, p = 0.5."""
    champion, challenger = [1, 2, 3], [2, 5, 1]
    # overlap@3 = |{1, 2, 3} & {2, 5, 1}| / 3 = 2 / 3
    assert overlap_at_k(champion, challenger, 3) == pytest.approx(2 / 3)
    # Agreement per depth: A1 = |{1} & {2}| / 1 = 0, A2 = |{1, 2} & {2, 5}| / 2 = 1/2,
    # A3 = 2/3. Weights (1 - p) / (1 - p^3) * p^(i-1) = 0.5 / 0.875 * (1, 0.5, 0.25)
    # = (4/7, 2/7, 1/7). RBO = 0 * 4/7 + 1/2 * 2/7 + 2/3 * 1/7 = 3/21 + 2/21 = 5/21.
    assert rank_biased_overlap(champion, challenger, 3, p=0.5) == pytest.approx(5 / 21)


def test_rbo_weighs_the_top_more_than_overlap_does() -> None:
    """Swapping the first two items keeps overlap@2 at 1 but costs RBO its first depth."""
    # A1 = 0, A2 = 1; weights at p = 0.5, d = 2: 0.5 / 0.75 * (1, 0.5) = (2/3, 1/3).
    assert overlap_at_k([1, 2], [2, 1], 2) == 1.0
    assert rank_biased_overlap([1, 2], [2, 1], 2, p=0.5) == pytest.approx(1 / 3)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_identical_lists_give_overlap_and_rbo_one(k: int) -> None:
    """The same list on both sides agrees fully at any cutoff, shorter than k or not."""
    assert overlap_at_k([4, 8, 15], [4, 8, 15], k) == pytest.approx(1.0)
    assert rank_biased_overlap([4, 8, 15], [4, 8, 15], k) == pytest.approx(1.0)


def test_disjoint_lists_give_zero() -> None:
    """Lists without a common item agree nowhere."""
    assert overlap_at_k([1, 2, 3], [4, 5, 6], 3) == 0.0
    assert rank_biased_overlap([1, 2, 3], [4, 5, 6], 3) == 0.0


def test_only_the_first_k_items_count() -> None:
    """Items past k are not compared: [1, 2, 9] and [3, 4, 9] are disjoint at k = 2."""
    assert overlap_at_k([1, 2, 9], [3, 4, 9], 2) == 0.0
    assert rank_biased_overlap([1, 2, 9], [3, 4, 9], 2) == 0.0


def test_a_shorter_list_is_compared_as_it_is() -> None:
    """[1] against [1, 2] at k = 5: depth 2, overlap 1 / 2."""
    assert overlap_at_k([1], [1, 2], 5) == pytest.approx(0.5)
    # A1 = 1, A2 = |{1} & {1, 2}| / 2 = 1/2; p = 0.5 weights (2/3, 1/3): 2/3 + 1/6 = 5/6.
    assert rank_biased_overlap([1], [1, 2], 5, p=0.5) == pytest.approx(5 / 6)


def test_hit_is_one_when_the_top_k_holds_a_consumed_item() -> None:
    """Item 5 at rank 2 is a hit at k = 2, not at k = 1."""
    assert hit([2, 5, 1], {5, 40}, 2) == 1.0
    assert hit([2, 5, 1], {5, 40}, 1) == 0.0
    assert hit([2, 5, 1], set(), 3) == 0.0


def test_bad_parameters_are_refused() -> None:
    """k < 1 and a persistence outside (0, 1) raise ValueError."""
    with pytest.raises(ValueError, match="k must be"):
        overlap_at_k([1], [1], 0)
    with pytest.raises(ValueError, match="persistence"):
        rank_biased_overlap([1], [1], 3, p=1.0)
