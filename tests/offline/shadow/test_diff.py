"""The shadow diff over a hand-made log of three requests."""

from __future__ import annotations

import numpy as np
import pytest

from offline.metrics.beyond import ItemPopularity
from offline.shadow.diff import ShadowDiff, shadow_diff
from offline.shadow.records import CHALLENGER, CHAMPION, ShadowPair
from tests.offline.factories import interactions
from tests.offline.shadow.factories import pair

#: Item i was consumed i times in training (items 1..7), 28 rows in all.
POPULARITY = ItemPopularity(
    item_ids=np.arange(1, 8, dtype=np.int64), counts=np.arange(1, 8, dtype=np.int64), total=28
)


def _pairs() -> list[ShadowPair]:
    return [
        pair("r1", [1, 2, 3], [2, 7, 1], user_id="1", latencies=(10.0, 20.0)),
        pair("r2", [4, 5, 6], [4, 5, 6], user_id="2", latencies=(10.0, 30.0)),
        pair("r3", [1, 2, 3], [], user_id="3", latencies=(10.0, 40.0), challenger_error=True),
    ]


def _diff(pairs: list[ShadowPair]) -> ShadowDiff:
    # User 1 consumed item 1 before the request (t = 50, not counted) and item 7 after;
    # user 2 consumed item 9, in neither list; user 3's request was not answered by both.
    later = interactions([(1, 1, 1.0, 50), (1, 7, 1.0, 150), (2, 9, 1.0, 200), (3, 1, 1.0, 150)])
    return shadow_diff(
        pairs, k=3, catalogue_size=10, popularity=POPULARITY, interactions=later,
        persistence=0.5, resamples=200,
    )  # fmt: skip


def test_the_diff_matches_a_hand_computed_case() -> None:
    """Overlap, RBO, hit rate and the other measures, worked out by hand."""
    diff = _diff(_pairs())
    assert (diff.requests, diff.compared, diff.hit_requests) == (3, 2, 2)
    # r1: overlap@3 = |{1,2,3} & {2,7,1}| / 3 = 2/3; RBO at p = 0.5 = 5/21 (test_lists).
    # r2: identical lists, 1 and 1. r3: the challenger failed, no list measure.
    r1, r2, r3 = diff.per_request
    assert r1.overlap == pytest.approx(2 / 3)
    assert r1.rbo == pytest.approx(5 / 21)
    assert r2.overlap == pytest.approx(1.0)
    assert r2.rbo == pytest.approx(1.0)
    assert (r3.overlap, r3.rbo, r3.hit) == (None, None, None)
    assert diff.overlap is not None
    assert diff.rbo is not None
    assert diff.overlap.value == pytest.approx((2 / 3 + 1) / 2)  # 5/6
    assert diff.rbo.value == pytest.approx((5 / 21 + 1) / 2)  # 13/21
    # Hits: user 1 then consumed 7, which only the challenger showed (rank 2); user 2
    # consumed 9, in neither list. Champion 0/2 = 0, challenger 1/2 = 0.5.
    assert r1.hit == {CHAMPION: 0.0, CHALLENGER: 1.0}
    assert r2.hit == {CHAMPION: 0.0, CHALLENGER: 0.0}
    assert diff.hit_rate is not None
    assert (diff.hit_rate.champion, diff.hit_rate.challenger) == (0.0, 0.5)
    # The champion showed {1..6} in the compared requests; of the challenger's r1 list
    # only 7 is new: r1 1/3, r2 0, mean 1/6; of its distinct items {1,2,4,5,6,7}, 1/6.
    assert diff.novel_share is not None
    assert diff.novel_share.value == pytest.approx(1 / 6)
    assert diff.novel_item_share == pytest.approx(1 / 6)
    # Coverage of a 10-item catalogue: 6 distinct items each.
    assert diff.coverage == {CHAMPION: 0.6, CHALLENGER: 0.6}
    # Popularity (item i has i rows): champion (1+2+3)/3 = 2 and (4+5+6)/3 = 5, mean 3.5;
    # challenger (2+7+1)/3 = 10/3 and 5, mean 25/6.
    assert diff.popularity is not None
    assert diff.popularity.champion == pytest.approx(3.5)
    assert diff.popularity.challenger == pytest.approx(25 / 6)
    # Latency and errors over all three: champion 10 ms, challenger (20+30+40)/3 = 30 ms;
    # errors 0/3 and 1/3.
    assert diff.latency_ms.delta == pytest.approx(20.0)
    assert diff.error_rate.champion == 0.0
    assert diff.error_rate.challenger == pytest.approx(1 / 3)


def test_the_score_shift_compares_the_arms_scores() -> None:
    """Both arms score rank i as 1 - i/10 here, so the score distributions coincide."""
    diff = _diff(_pairs())
    assert diff.score_ks == pytest.approx(0.0)
    assert diff.mean_score is not None
    assert diff.mean_score.delta == pytest.approx(0.0)
    assert diff.score_quantiles[CHAMPION] == pytest.approx((0.8, 0.9, 1.0))


def test_identical_arms_agree_fully_with_a_point_interval() -> None:
    """The same lists in both arms: overlap and RBO 1 on every request and every resample."""
    same = [pair(f"r{i}", [i, i + 1, i + 2], [i, i + 1, i + 2]) for i in range(5)]
    diff = _diff(same)
    for interval in (diff.overlap, diff.rbo):
        assert interval is not None
        assert (interval.value, interval.low, interval.high) == pytest.approx((1.0, 1.0, 1.0))
    assert diff.novel_item_share == 0.0


def test_disjoint_arms_give_zero_agreement() -> None:
    """No item in common on any request: overlap and RBO 0."""
    disjoint = [pair(f"r{i}", [1, 2, 3], [4, 5, 6]) for i in range(3)]
    diff = _diff(disjoint)
    assert diff.overlap is not None
    assert diff.rbo is not None
    assert (diff.overlap.value, diff.rbo.value) == (0.0, 0.0)


def test_without_interactions_there_is_no_hit_rate() -> None:
    """No interactions table: hit rate None, everything else measured."""
    diff = shadow_diff(_pairs(), k=3, catalogue_size=10, popularity=POPULARITY, resamples=50)
    assert diff.hit_rate is None
    assert diff.hit_requests == 0
    assert diff.overlap is not None


def test_an_empty_log_is_refused() -> None:
    """Nothing to compare raises ValueError."""
    with pytest.raises(ValueError, match="no shadowed request"):
        shadow_diff([], k=3, catalogue_size=10, popularity=POPULARITY)
