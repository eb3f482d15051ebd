"""build_snapshot on the hand-checked example dataset (see datasets.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recmesh.data.dataset import ItemCatalog
from recmesh.data.external_ids import external_code
from recmesh.data.generic import load_interactions_file
from recmesh.data.log_format import IdKinds, LogFormat
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.errors import SnapshotBuildError
from recmesh.snapshot.snapshot import Snapshot
from recmesh.snapshot.validate import check_snapshot
from tests.snapshot.datasets import (
    DAY,
    EXAMPLE_CONFIG,
    T,
    example_dataset,
    example_snapshot,
    interactions,
    tiny_dataset,
)


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


def half(days: float) -> float:
    """The 30-day decay factor of an age in days."""
    return float(2.0 ** (-days / 30.0))


def test_built_snapshot_passes_the_invariant_check(snapshot: Snapshot) -> None:
    """Whatever build produces is a valid snapshot."""
    check_snapshot(snapshot)


def test_catalogue_comes_from_the_dataset_including_items_nobody_used(
    snapshot: Snapshot,
) -> None:
    """All five catalogue items, titles, genres and years, even item 50 without interactions."""
    assert snapshot.item_ids.tolist() == [10, 20, 30, 40, 50]
    assert snapshot.titles == ("Item 10", "Item 20", "Item 30", "Item 40", "Item 50")
    assert snapshot.genre_names == ("Action", "Comedy")
    assert snapshot.item_genres.tolist() == [[1, 0], [1, 1], [0, 1], [0, 1], [1, 0]]
    assert snapshot.item_years.tolist() == [1990, 1995, 0, 2000, 1980]


def test_now_is_the_latest_interaction(snapshot: Snapshot) -> None:
    """The reference time is the newest timestamp of the training interactions."""
    assert snapshot.now == T


def test_item_statistics(snapshot: Snapshot) -> None:
    """Counts, rating mean and population std, first and last times; zeros for item 50."""
    assert snapshot.item_counts.tolist() == [3, 3, 2, 1, 0]
    assert snapshot.item_mean_ratings.tolist() == pytest.approx([4.0, 11 / 3, 3.5, 1.0, 0.0])
    assert snapshot.item_rating_stds.tolist() == pytest.approx(
        [float(np.std([5, 4, 3])), float(np.std([4, 2, 5])), 0.5, 0.0, 0.0]
    )
    assert snapshot.item_first_timestamps.tolist() == [T - 100 * DAY, T - 31 * DAY, T - DAY,
                                                       T - 60 * DAY, 0]
    assert snapshot.item_last_timestamps.tolist() == [T - 10 * DAY, T - 2 * DAY, T,
                                                      T - 60 * DAY, 0]
    assert snapshot.global_mean_rating == pytest.approx(31 / 9)


def test_recent_and_prior_counts_use_half_open_windows(snapshot: Snapshot) -> None:
    """(now-30d, now] is recent, (now-60d, now-30d] prior: the 60-day-old rating is neither."""
    assert snapshot.item_recent_counts.tolist() == [1, 2, 2, 0, 0]
    assert snapshot.item_prior_counts.tolist() == [1, 1, 0, 0, 0]


def test_popularity_decays_each_interaction_from_now(snapshot: Snapshot) -> None:
    """Item popularity is the sum of 2^(-age/30 days) over its interactions."""
    expected = [
        half(10) + half(40) + half(100),
        half(5) + half(31) + half(2),
        half(0) + half(1),
        half(60),
        0.0,
    ]
    assert snapshot.popularity.tolist() == pytest.approx(expected, rel=1e-12)
    assert snapshot.popularity.dtype == np.float64


def test_history_is_csr_by_user_with_items_in_index_order(snapshot: Snapshot) -> None:
    """Users 1..5 hold 3, 2, 3, 1 and 0 items; user 3's items are indices 1, 2, 3."""
    assert snapshot.user_ids.tolist() == [1, 2, 3, 4, 5]
    assert snapshot.history_indptr.tolist() == [0, 3, 5, 8, 9, 9]
    assert snapshot.history_items.tolist() == [0, 1, 2, 0, 1, 1, 2, 3, 0]
    assert snapshot.history_ratings.tolist() == [5, 4, 3, 4, 2, 5, 4, 1, 3]


def test_affinity_decays_from_the_users_own_latest_interaction(snapshot: Snapshot) -> None:
    """User 2's latest rating is 31 days old, yet it weighs its full rating (2), and the
    one 9 days before it weighs 4 * 2^(-9/30)."""
    user_2 = snapshot.history_weights[3:5].tolist()
    assert user_2 == pytest.approx([4 * half(9), 2.0], rel=1e-6)
    user_1 = snapshot.history_weights[0:3].tolist()
    assert user_1 == pytest.approx([5 * half(10), 4 * half(5), 3.0], rel=1e-6)


def test_user_statistics_and_demographics(snapshot: Snapshot) -> None:
    """User 4 lacks demographics, user 5 lacks interactions; both are snapshot users."""
    assert snapshot.user_counts.tolist() == [3, 2, 3, 1, 0]
    assert snapshot.user_mean_ratings.tolist() == pytest.approx([4.0, 3.0, 10 / 3, 3.0, 0.0])
    assert snapshot.user_first_timestamps.tolist()[4] == 0
    assert snapshot.user_last_timestamps.tolist() == [T, T - 31 * DAY, T - DAY, T - 100 * DAY, 0]
    assert snapshot.user_ages.tolist() == [20, 30, 40, 0, 50]
    assert snapshot.user_genders == ("M", "F", "M", "", "F")
    assert snapshot.user_occupations == ("writer", "doctor", "artist", "", "lawyer")
    assert snapshot.has_demographics


def test_genre_profiles_are_unit_affinity_weighted_genre_sums(snapshot: Snapshot) -> None:
    """User 4 watched one Action film: profile (1, 0); user 5 has none: zeros."""
    profiles = snapshot.user_genre_profiles
    assert profiles[3].tolist() == [1.0, 0.0]
    assert profiles[4].tolist() == [0.0, 0.0]
    weights = snapshot.history_weights[0:3].astype(np.float64)
    raw = weights[0] * np.array([1, 0]) + weights[1] * np.array([1, 1]) + weights[2] * np.array(
        [0, 1]
    )
    assert profiles[0].tolist() == pytest.approx((raw / np.linalg.norm(raw)).tolist(), rel=1e-6)


def test_repeated_interactions_sum_affinity_and_keep_the_latest_rating() -> None:
    """Rating the same item twice gives one history entry: weights add up, and rating and
    timestamp are those of the later interaction."""
    rows = [(1, 10, 2.0, 0), (1, 10, 4.0, 30 * DAY), (1, 20, 1.0, 30 * DAY)]
    dataset = tiny_dataset(rows, [10, 20])
    snapshot = build_snapshot(dataset, dataset.interactions, EXAMPLE_CONFIG)
    assert snapshot.history_items.tolist() == [0, 1]
    assert snapshot.history_weights.tolist() == pytest.approx([2.0 * 0.5 + 4.0, 1.0])
    assert snapshot.history_ratings.tolist() == [4.0, 1.0]
    assert snapshot.history_timestamps.tolist() == [30 * DAY, 30 * DAY]
    assert snapshot.item_counts.tolist() == [2, 1]


def test_training_interactions_may_be_a_subset_of_the_dataset() -> None:
    """The snapshot knows only the interactions it is given; the catalogue is the dataset's."""
    dataset = example_dataset()
    train = dataset.interactions.select(dataset.interactions.users != 3)
    snapshot = build_snapshot(dataset, train, EXAMPLE_CONFIG)
    assert snapshot.item_counts.tolist() == [3, 2, 1, 0, 0]
    assert snapshot.user_ids.tolist() == [1, 2, 3, 4, 5]
    assert not snapshot.has_history(snapshot.user_index(3))


def test_snapshot_arrays_are_read_only_copies() -> None:
    """Requests cannot write into a shared snapshot, and the dataset's arrays stay writable."""
    dataset = example_dataset()
    snapshot = build_snapshot(dataset, dataset.interactions, EXAMPLE_CONFIG)
    with pytest.raises(ValueError, match="read-only"):
        snapshot.popularity[0] = 1.0
    dataset.items.item_ids[0] = 10


def test_no_interactions_is_a_build_error() -> None:
    """An empty training set cannot make a snapshot."""
    dataset = example_dataset()
    empty = dataset.interactions.select(np.zeros(len(dataset.interactions), dtype=np.bool_))
    with pytest.raises(SnapshotBuildError, match="zero interactions"):
        build_snapshot(dataset, empty, EXAMPLE_CONFIG)


def test_items_missing_from_the_catalogue_are_a_build_error() -> None:
    """Interactions naming unknown items are refused, naming the ids."""
    dataset = example_dataset()
    with pytest.raises(SnapshotBuildError, match=r"\[99\]"):
        build_snapshot(dataset, interactions([(1, 99, 1.0, 0)]), EXAMPLE_CONFIG)


def test_unsorted_catalogue_is_a_build_error() -> None:
    """The catalogue must be sorted by strictly increasing id."""
    dataset = example_dataset()
    items = dataset.items
    shuffled = ItemCatalog(
        item_ids=items.item_ids[::-1].copy(),
        titles=items.titles,
        genre_names=items.genre_names,
        genres=items.genres,
        years=items.years,
    )
    broken = type(dataset)(dataset.name, dataset.interactions, shuffled, None, "0" * 64)
    with pytest.raises(SnapshotBuildError, match="strictly increasing"):
        build_snapshot(broken, broken.interactions, EXAMPLE_CONFIG)


def test_dataset_without_user_table_has_no_demographics() -> None:
    """Ages 0 and empty genders everywhere, has_demographics false."""
    dataset = tiny_dataset([(7, 10, 1.0, 0)], [10])
    snapshot = build_snapshot(dataset, dataset.interactions, EXAMPLE_CONFIG)
    assert not snapshot.has_demographics
    assert snapshot.user_ages.tolist() == [0]
    assert snapshot.user_genders == ("",)


def test_string_ids_travel_into_the_snapshot(tmp_path: Path) -> None:
    """A log of track URIs and user names: the snapshot holds each item's and user's
    string beside its code, and finds a user by the string."""
    log = tmp_path / "plays.csv"
    log.write_text(
        "user,item,timestamp\nalice,spotify:track:1,10\nbob,spotify:track:2,20\n"
        "alice,spotify:track:2,30\n",
        encoding="utf-8",
    )
    dataset = load_interactions_file(log, log_format=LogFormat(ids=IdKinds.parse("string")))
    snapshot = build_snapshot(dataset, dataset.interactions)
    assert dict(zip(snapshot.item_ids.tolist(), snapshot.item_external_ids, strict=True)) == {
        external_code("spotify:track:1"): "spotify:track:1",
        external_code("spotify:track:2"): "spotify:track:2",
    }
    alice = snapshot.user_index("alice")
    assert alice is not None
    assert snapshot.user_external_ids[alice] == "alice"
    assert snapshot.user_index("carol") is None
    assert example_snapshot().item_external_ids == ()
