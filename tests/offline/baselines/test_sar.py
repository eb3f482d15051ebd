"""SAR: scores on a hand-computed example, seen removal, normalisation, errors."""

from __future__ import annotations

import numpy as np
import pytest

from offline.baselines import sar
from offline.baselines.sar import SARConfig, fit_sar
from offline.baselines.sar_matrices import SECONDS_PER_DAY, Similarity
from offline.errors import UnknownIdsError
from offline.topk import PAD
from tests.offline.factories import interactions

_NOW = 10_000 * SECONDS_PER_DAY
_MONTH_AGO = _NOW - 30 * SECONDS_PER_DAY

# Affinities with a 30-day half-life: user 1 {10: 4, 20: 1}, user 2 {10: 5, 20: 3, 30: 1},
# user 3 {30: 1}. Jaccard: s(10, 20) = 1, s(10, 30) = s(20, 30) = 1/3.
_TRAIN = interactions(
    [
        (1, 10, 4.0, _NOW),
        (1, 20, 2.0, _MONTH_AGO),
        (2, 10, 5.0, _NOW),
        (2, 20, 3.0, _NOW),
        (2, 30, 1.0, _NOW),
        (3, 30, 2.0, _MONTH_AGO),
    ]
)
_USERS = np.array([1, 2, 3], dtype=np.int64)


def test_fitted_pieces_are_the_decayed_affinity_and_jaccard_similarity() -> None:
    """The affinity and similarity matrices hold the hand-computed values."""
    model = fit_sar(_TRAIN)
    assert model.users.ids.tolist() == [1, 2, 3]
    assert model.items.ids.tolist() == [10, 20, 30]
    assert model.affinity.toarray().tolist() == [[4, 1, 0], [5, 3, 1], [0, 0, 1]]
    third = float(np.float32(1) / np.float32(3))
    assert model.similarity.toarray().tolist() == [[1, 1, third], [1, 1, third], [third, third, 1]]
    assert (model.rating_min, model.rating_max) == (1.0, 5.0)


def test_scores_are_affinity_times_similarity() -> None:
    """User 1: item 10 scores 4 + 1 = 5, item 30 scores 4/3 + 1/3 = 5/3."""
    scores = fit_sar(_TRAIN).scores(np.array([1], dtype=np.int64))
    assert scores == pytest.approx(np.array([[5.0, 5.0, 5 / 3]]), rel=1e-7)


def test_recommend_removes_seen_items_and_breaks_ties_by_lower_id() -> None:
    """User 1 gets only item 30; user 2 has seen everything; user 3 gets 10 then 20 (tied)."""
    lists = fit_sar(_TRAIN, SARConfig(normalize=False)).recommend(_USERS, 3)
    assert lists.items.tolist() == [[30, PAD, PAD], [PAD, PAD, PAD], [10, 20, PAD]]
    assert lists.scores[0, 0] == pytest.approx(5 / 3)


def test_without_seen_removal_everything_is_ranked() -> None:
    """remove_seen=False keeps training items; 10 and 20 tie at 5 for user 1."""
    lists = fit_sar(_TRAIN).recommend(np.array([1], dtype=np.int64), 3, remove_seen=False)
    assert lists.items.tolist() == [[10, 20, 30]]


def test_normalize_rescales_scores_like_sar_single_node_without_reranking() -> None:
    """User 1's item 30: (5/3 - 0.5) / (7.5 - 0.5) * (5 - 1) + 1 = 5/3; user 3's item 10: 9/7."""
    lists = fit_sar(_TRAIN).recommend(_USERS, 3)
    raw = fit_sar(_TRAIN, SARConfig(normalize=False)).recommend(_USERS, 3)
    assert np.array_equal(lists.items, raw.items)
    assert lists.scores[0, 0] == pytest.approx(5 / 3)
    assert lists.scores[2, :2].tolist() == pytest.approx([9 / 7, 9 / 7])


def test_time_decay_can_be_turned_off_and_now_can_be_set() -> None:
    """Without decay the affinity is the rating; an explicit `now` shifts the decay."""
    plain = fit_sar(_TRAIN, SARConfig(half_life_days=None))
    assert plain.affinity.toarray()[0].tolist() == [4.0, 2.0, 0.0]
    later = fit_sar(_TRAIN, SARConfig(now=_NOW + 30 * SECONDS_PER_DAY))
    assert later.affinity.toarray()[0].tolist() == [2.0, 0.5, 0.0]


def test_other_similarities_are_used_when_configured() -> None:
    """Lift similarity: s(10, 10) = 2 / (2 * 2)."""
    model = fit_sar(_TRAIN, SARConfig(similarity=Similarity.LIFT))
    assert model.similarity.toarray()[0, 0] == pytest.approx(0.5)


def test_unknown_users_are_rejected_as_sar_single_node_does() -> None:
    """SAR has no affinity for users outside training: UnknownIdsError."""
    with pytest.raises(UnknownIdsError, match=r"\[7\]"):
        fit_sar(_TRAIN).recommend(np.array([1, 7], dtype=np.int64), 2)


def test_blocks_of_users_give_the_same_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scoring users a few at a time changes nothing."""
    rng = np.random.default_rng(3)
    rows = [(int(u), int(i), float(rng.integers(1, 6)), int(rng.integers(0, 10**7)))
            for u, i in {(int(u), int(i)) for u, i in rng.integers(0, 60, size=(900, 2))}]
    model = fit_sar(interactions(rows))
    users = model.users.ids
    whole = model.recommend(users, 5)
    monkeypatch.setattr(sar, "_BLOCK_CELLS", 100)
    blocked = model.recommend(users, 5)
    assert np.array_equal(whole.items, blocked.items)
    assert np.array_equal(whole.scores, blocked.scores)


def test_scores_match_a_dense_microsoft_style_computation() -> None:
    """On random data, scores equal dense affinity @ (C / (c_i + c_j - C)) in float32."""
    rng = np.random.default_rng(4)
    pairs = {(int(u), int(i)) for u, i in rng.integers(0, 40, size=(500, 2))}
    rows = [(u, i, float(rng.integers(1, 6)), int(rng.integers(0, 10**8))) for u, i in pairs]
    data = interactions(rows)
    model = fit_sar(data)
    hits = model.seen.toarray().astype(np.float32)
    counts = hits.T @ hits
    diagonal = np.diag(counts)
    jaccard = (counts / (diagonal[None, :] + diagonal[:, None] - counts)).astype(np.float32)
    assert np.allclose(model.similarity.toarray(), jaccard, rtol=0, atol=0)
    expected = model.affinity.toarray() @ jaccard.astype(np.float64)
    assert np.allclose(model.scores(model.users.ids), expected, rtol=1e-12, atol=0)


def test_config_is_validated() -> None:
    """A non-positive half-life or a threshold below 1 are ValueErrors; empty data too."""
    with pytest.raises(ValueError, match="half_life_days"):
        SARConfig(half_life_days=0.0)
    with pytest.raises(ValueError, match="cooccurrence_threshold"):
        SARConfig(cooccurrence_threshold=0)
    with pytest.raises(ValueError, match="empty"):
        fit_sar(interactions([]))
