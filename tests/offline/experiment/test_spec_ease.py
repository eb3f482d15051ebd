"""A spec names cornac's EASE as a candidate source (`ease_neighbors_per_item` above 0)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from offline.experiment.pipeline import prepare_data, train_challenger
from offline.experiment.spec_loading import SpecError, parse_spec
from recmesh.console.progress import NullProgress
from recmesh.core.candidates.pipeline import build_candidate_pipeline
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.codec import snapshot_from_bytes
from tests.offline.experiment.specs import small_spec

_EASE_SNAPSHOT = {"ease_neighbors_per_item": 20, "ease_share": 0.3}
_SOURCES = ("item_cooccurrence", "ease", "genre_affinity", "popularity")


def test_an_ease_challenger_trains_and_ships_the_ease_source(ml100k_dir: Path) -> None:
    """The normal path: the evaluated arm holds the EASE lists of TRAIN, the served bundle
    the same config, and both candidate pipelines run the ease source, which finds
    candidates."""
    spec = parse_spec(small_spec(candidates={"n": 100, "snapshot": _EASE_SNAPSHOT}))
    assert spec.candidates.snapshot.ease_neighbors_per_item == 20
    progress = NullProgress()
    data = prepare_data(spec, ml100k_dir.parent, progress)
    challenger = train_challenger(spec, data, progress)
    arm = challenger.arm.snapshot
    expected = build_snapshot(data.dataset, data.train, spec.candidates.snapshot)
    assert np.array_equal(arm.ease_indices, expected.ease_indices)
    assert np.array_equal(arm.ease_values, expected.ease_values)
    # The bundle's snapshot is of every interaction (not TRAIN): its own lists, same config.
    served = snapshot_from_bytes(challenger.bundle.snapshot_bytes)
    assert served.config == spec.candidates.snapshot
    assert served.ease_indices.shape[0] > 0
    user = int(arm.user_ids[0])
    for snapshot in (arm, served):
        candidates = build_candidate_pipeline(snapshot)
        assert candidates.sources == _SOURCES
        found = candidates.generate(user, 100)
        assert (found.source_indices == _SOURCES.index("ease")).sum() > 0


def test_a_bad_ease_setting_is_a_spec_error() -> None:
    """An ease_share of 1 is a SpecError naming candidates.snapshot."""
    body = small_spec(candidates={"n": 100, "snapshot": {**_EASE_SNAPSHOT, "ease_share": 1.0}})
    with pytest.raises(SpecError, match=r"candidates\.snapshot"):
        parse_spec(body)
