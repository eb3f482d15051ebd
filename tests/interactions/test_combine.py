"""Tests for recmesh.interactions.combine."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from recmesh.data.dataset import Dataset, Interactions, ItemCatalog
from recmesh.data.errors import DataFormatError
from recmesh.data.fingerprint import fingerprint_interactions
from recmesh.data.log_format import Weighting
from recmesh.interactions.combine import with_logged_rows
from recmesh.interactions.log_reader import read_log


def _dataset(counts: list[float], weight: Weighting) -> Dataset:
    """Users 1.. each with one item 1.. weighted by `weight` as a loader would."""
    n = len(counts)
    ratings, keep = weight.apply(np.asarray(counts, dtype=np.float32))
    interactions = Interactions(
        users=np.arange(1, n + 1, dtype=np.int64),
        items=np.arange(1, n + 1, dtype=np.int64),
        ratings=ratings,
        timestamps=np.full(n, 10, dtype=np.int64),
    ).select(keep)
    catalogue = ItemCatalog(
        item_ids=np.arange(1, 10, dtype=np.int64),
        titles=("",) * 9,
        genre_names=(),
        genres=np.zeros((9, 0), dtype=np.float32),
        years=np.zeros(9, dtype=np.int32),
    )
    return Dataset("plays", interactions, catalogue, None, fingerprint_interactions(interactions))


def _log(directory: Path, *files: tuple[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files:
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_logged_play_counts_are_log1p_scaled_like_the_datasets(tmp_path: Path) -> None:
    """weight: log1p: a logged play count of 50 weighs log1p(50), as 50 plays in the
    dataset do, not 50."""
    log1p = Weighting("log1p")
    dataset = _dataset([50.0], log1p)
    logged = read_log(_log(tmp_path, ("f.tsv", "2\t2\t50\t20\n")))
    combined = with_logged_rows(dataset, logged, log1p)
    assert combined.interactions.ratings.tolist() == pytest.approx([math.log1p(50)] * 2)
    assert combined.name == "plays+log"


def test_logged_rows_below_the_threshold_are_dropped(tmp_path: Path) -> None:
    """weight: threshold:4: logged ratings below 4 are not kept (an implicit interaction,
    logged as 1, among them); those kept weigh 1; none kept leaves the dataset as is."""
    threshold = Weighting.parse("threshold:4")
    dataset = _dataset([5.0, 2.0], threshold)
    logged = read_log(_log(tmp_path, ("f.tsv", "3\t3\t4.5\t20\n4\t4\t3\t20\n5\t5\t1\t20\n")))
    combined = with_logged_rows(dataset, logged, threshold)
    assert combined.interactions.users.tolist() == [1, 3]
    assert combined.interactions.ratings.tolist() == [1.0, 1.0]
    low = read_log(_log(tmp_path / "low", ("g.tsv", "4\t4\t3\t20\n")))
    assert with_logged_rows(dataset, low, threshold) is dataset


def test_no_weighting_keeps_logged_ratings(tmp_path: Path) -> None:
    """weight: none (ml-100k's): logged ratings are appended as they are."""
    dataset = _dataset([4.0], Weighting())
    logged = read_log(_log(tmp_path, ("f.tsv", "2\t2\t3\t20\n")))
    assert with_logged_rows(dataset, logged, Weighting()).interactions.ratings.tolist() == [4, 3]


def test_a_negative_logged_weight_under_log1p_names_its_file_and_line(tmp_path: Path) -> None:
    """log1p refuses a negative count, logged ones too: the error names file and line."""
    log1p = Weighting("log1p")
    logged = read_log(
        _log(tmp_path, ("a.tsv", "2\t2\t1\t20\n"), ("b.tsv", "2\t2\t3\t20\n3\t3\t-2\t20\n"))
    )
    with pytest.raises(DataFormatError) as caught:
        with_logged_rows(_dataset([1.0], log1p), logged, log1p)
    assert str(caught.value) == "b.tsv:2: weight -2: log1p needs weights >= 0"
