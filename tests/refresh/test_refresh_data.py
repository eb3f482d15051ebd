"""The refresher's data: the champion's rebuilt and checked, the probe's hold-out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from offline.refresh.data import refresh_data
from offline.refresh.errors import RefreshError
from offline.refresh.probe import ProbeSettings, _hold_out_latest, probe_users
from recmesh.data.dataset import Dataset, Interactions, ItemCatalog
from recmesh.data.fingerprint import fingerprint_interactions
from recmesh.data.log_format import Weighting
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.comparison import compare_snapshots


def _dataset(users: list[int], items: list[int], timestamps: list[int]) -> Dataset:
    interactions = Interactions(
        users=np.asarray(users, dtype=np.int64),
        items=np.asarray(items, dtype=np.int64),
        ratings=np.ones(len(users), dtype=np.float32),
        timestamps=np.asarray(timestamps, dtype=np.int64),
    )
    catalogue_ids = np.arange(1, 11, dtype=np.int64)
    catalogue = ItemCatalog(
        item_ids=catalogue_ids,
        titles=tuple(f"item {i}" for i in catalogue_ids),
        genre_names=("a",),
        genres=np.zeros((10, 1), dtype=np.float32),
        years=np.zeros(10, dtype=np.int32),
    )
    return Dataset("toy", interactions, catalogue, None, fingerprint_interactions(interactions))


TOY = _dataset([1, 1, 1, 2, 2, 3], [1, 2, 3, 1, 4, 5], [10, 20, 30, 10, 20, 30])
NONE = Weighting()


def test_the_champions_data_is_rebuilt_from_the_rows_it_recorded(tmp_path: Path) -> None:
    """Reference = dataset + the recorded log rows (checked by fingerprint); refreshed =
    dataset + every logged row; the rows read are counted per file."""
    (tmp_path / "f.tsv").write_text("1\t6\t5\t40\n2\t7\t4\t50\n")
    first = refresh_data(TOY, tmp_path, {}, TOY.fingerprint, NONE)
    assert first.added_interactions == 2
    assert dict(first.log_rows) == {"f.tsv": 2}
    with (tmp_path / "f.tsv").open("a") as log:
        log.write("3\t8\t5\t60\n")
    second = refresh_data(TOY, tmp_path, first.log_rows, first.refreshed.fingerprint, NONE)
    assert second.reference.fingerprint == first.refreshed.fingerprint
    assert second.added_interactions == 1


def test_a_dataset_or_log_that_does_not_reproduce_the_champion_is_refused(
    tmp_path: Path,
) -> None:
    """Another dataset, or a log that lost rows the champion recorded, is a RefreshError."""
    (tmp_path / "f.tsv").write_text("1\t6\t5\t40\n")
    with pytest.raises(RefreshError, match="never rewrite the interaction log"):
        refresh_data(TOY, tmp_path, {}, "0" * 64, NONE)
    with pytest.raises(RefreshError, match=r"f\.tsv"):
        refresh_data(TOY, tmp_path, {"f.tsv": 3}, TOY.fingerprint, NONE)


def test_logged_rows_are_weighted_as_the_datasets_in_both_datasets(tmp_path: Path) -> None:
    """With the dataset's log1p the champion's rows and the refreshed ones are weighted
    alike: the recorded rows reproduce the champion's fingerprint, a play count of 50
    weighs log1p(50); a negative one is a RefreshError naming file and line."""
    log1p = Weighting("log1p")
    (tmp_path / "f.tsv").write_text("1\t6\t50\t40\n")
    first = refresh_data(TOY, tmp_path, {}, TOY.fingerprint, log1p)
    assert first.refreshed.interactions.ratings[-1] == pytest.approx(np.log1p(50))
    with (tmp_path / "f.tsv").open("a") as log:
        log.write("2\t7\t3\t50\n")
    second = refresh_data(TOY, tmp_path, first.log_rows, first.refreshed.fingerprint, log1p)
    assert second.reference.fingerprint == first.refreshed.fingerprint
    with (tmp_path / "f.tsv").open("a") as log:
        log.write("3\t8\t-1\t60\n")
    with pytest.raises(RefreshError, match=r"f\.tsv:3: weight -1"):
        refresh_data(TOY, tmp_path, second.log_rows, second.refreshed.fingerprint, log1p)


def test_the_probe_holds_out_each_probe_users_latest_rows() -> None:
    """ceil(fraction x n), at least one, of the latest rows of probe users only."""
    train, test = _hold_out_latest(TOY.interactions, np.array([1, 2]), 0.34)
    assert sorted(zip(test.users.tolist(), test.items.tolist(), strict=True)) == [
        (1, 2), (1, 3), (2, 4),
    ]  # fmt: skip
    assert len(train) + len(test) == len(TOY.interactions)


def test_probe_users_are_a_seeded_draw_among_users_with_enough_history() -> None:
    """Users with five rows or more, drawn with the seed (the same draw every time);
    none at all is a RefreshError."""
    settings = ProbeSettings(k=2, users=3, holdout_fraction=0.2, seed=1)
    with pytest.raises(RefreshError, match="to probe with"):
        probe_users(TOY, settings)
    users = [u for u in range(1, 8) for _ in range(5)] + [9]
    many = _dataset(users, [(n % 10) + 1 for n in range(len(users))], list(range(len(users))))
    drawn = probe_users(many, settings)
    assert drawn.shape[0] == 3
    assert set(drawn.tolist()) <= set(range(1, 8))
    assert drawn.tolist() == sorted(drawn.tolist()) == probe_users(many, settings).tolist()


def test_comparing_snapshots_counts_what_was_lost() -> None:
    """Dropping user 3's only row loses one interaction and the user."""
    before = build_snapshot(TOY, TOY.interactions)
    keep = TOY.interactions.users != 3
    smaller = replace(TOY, interactions=TOY.interactions.select(keep))
    after = build_snapshot(smaller, smaller.interactions)
    lost = compare_snapshots(before, after)
    assert (lost.lost_interactions, lost.vanished_users, lost.vanished_items) == (1, 1, 0)
    assert lost.lost_anything
    assert not compare_snapshots(before, before).lost_anything
