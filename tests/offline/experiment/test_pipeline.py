"""Tests for offline.experiment.pipeline (the steps run end to end elsewhere: the
determinism, cluster and footprint tests)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from offline.experiment.pipeline import prepare_data
from offline.experiment.spec_loading import parse_spec
from recmesh.console.progress import NullProgress
from tests.offline.experiment.specs import small_spec


def test_logged_rows_join_the_dataset_weighted_as_its_rows(tmp_path: Path) -> None:
    """A play-count log read with weight: log1p: a logged count of 50 weighs log1p(50)
    beside the dataset's log1p-scaled counts, not 50."""
    rows = [
        f"{u},{i},{50 if (u, i) == (1, 1) else 2},{100 + i}"
        for u in range(1, 11)
        for i in range(1, 6)
    ]
    plays = tmp_path / "plays.csv"
    plays.write_text("user,item,weight,timestamp\n" + "\n".join(rows) + "\n", encoding="utf-8")
    log = tmp_path / "log"
    log.mkdir()
    (log / "front.tsv").write_text("2\t1\t50\t200\n", encoding="utf-8")
    spec = parse_spec(small_spec(dataset={"name": "plays", "path": str(plays), "weight": "log1p"}))
    data = prepare_data(spec, tmp_path, NullProgress(), interaction_log=log)
    ratings = data.dataset.interactions.ratings
    assert ratings[0] == pytest.approx(math.log1p(50))
    assert ratings[-1] == pytest.approx(math.log1p(50))
    assert dict(data.log_rows) == {"front.tsv": 1}
