"""A spec names implicit's ALS as the ranker's latent base score (`latent_model: als`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from offline.experiment.pipeline import prepare_data, train_challenger
from offline.experiment.spec_loading import SpecError, parse_spec
from recmesh.console.progress import NullProgress
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.codec import snapshot_from_bytes
from recmesh.snapshot.config import SnapshotConfig
from tests.offline.experiment.specs import small_spec

_ALS_SNAPSHOT = {"latent_model": "als", "latent_factors": 16, "latent_shrinkage": 10.0}


def test_an_als_challenger_trains_and_ships_als_factors(ml100k_dir: Path) -> None:
    """The normal path: the evaluated arm and the served bundle both carry ALS factors."""
    spec = parse_spec(small_spec(candidates={"n": 100, "snapshot": _ALS_SNAPSHOT}))
    assert spec.candidates.snapshot.latent_model == "als"
    progress = NullProgress()
    data = prepare_data(spec, ml100k_dir.parent, progress)
    challenger = train_challenger(spec, data, progress)
    arm = challenger.arm.snapshot
    expected = build_snapshot(data.dataset, data.train, spec.candidates.snapshot)
    assert np.array_equal(arm.item_factors, expected.item_factors)
    assert np.array_equal(arm.user_factors, expected.user_factors)
    svd = build_snapshot(data.dataset, data.train, SnapshotConfig(latent_factors=16))
    assert not np.array_equal(arm.item_factors, svd.item_factors)
    served = snapshot_from_bytes(challenger.bundle.snapshot_bytes)
    assert served.config.latent_model == "als"


def test_an_unknown_latent_model_is_refused() -> None:
    """latent_model ease is a SpecError naming candidates.snapshot."""
    body = small_spec(candidates={"n": 100, "snapshot": {"latent_model": "ease"}})
    with pytest.raises(SpecError, match=r"candidates\.snapshot"):
        parse_spec(body)


@pytest.mark.parametrize("model", ["bpr", "cornac_bpr"])
def test_a_spec_names_either_bpr_as_its_latent_model(model: str) -> None:
    """latent_model bpr and cornac_bpr parse into the snapshot config the arm and the
    bundle are built from; latent_factors 1 (the bias column alone) is a SpecError."""
    snapshot = {"latent_model": model, "latent_factors": 16, "latent_shrinkage": 0.01}
    spec = parse_spec(small_spec(candidates={"n": 100, "snapshot": snapshot}))
    assert spec.candidates.snapshot.latent_model == model
    assert spec.candidates.snapshot.latent_factors == 16
    with pytest.raises(SpecError, match=r"candidates\.snapshot"):
        parse_spec(small_spec(candidates={"n": 100, "snapshot": {**snapshot, "latent_factors": 1}}))
