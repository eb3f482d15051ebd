"""The challenger's scoring latency, timed on real-shaped feature matrices."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from offline.experiment.latency import measure_latency
from offline.experiment.spec import LatencyBudget
from offline.training.groups import CandidateGroups
from recmesh.core.features.pipeline import FeatureMatrix


class _RecordingModel:
    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def score(self, features: NDArray[np.float32]) -> NDArray[np.float32]:
        self.shapes.append(features.shape)
        return np.zeros(features.shape[0], dtype=np.float32)


def test_p99_comes_from_the_clock_over_matrices_of_the_budgeted_size() -> None:
    """Every call scores exactly `candidates` rows (short lists are tiled); the percentiles
    come from the injected clock: 1 ms per timed call, 10 ms for the last one."""
    groups = CandidateGroups(
        users=np.array([1, 2], dtype=np.int64),
        lists=(object(), object()),  # type: ignore[arg-type]
        features=FeatureMatrix(
            np.ones((10, 4), dtype=np.float32), np.array([0, 3, 10], dtype=np.int64)
        ),
        feature_names=("a", "b", "c", "d"),
        schema_fingerprint="x",
    )
    times = [t for i in range(99) for t in (float(i), i + 0.001)] + [1000.0, 1000.010]
    model = _RecordingModel()
    budget = LatencyBudget(max_ms=5, candidates=8, calls=100)
    result = measure_latency(model, groups, budget, iter(times).__next__, rounds=1)
    assert result.calls == 100
    assert result.candidates == 8
    assert set(model.shapes) == {(8, 4)}
    assert len(model.shapes) == 120
    assert abs(result.p50_ms - 1.0) < 1e-6
    assert 1.0 < result.p99_ms <= 10.0


def test_the_quietest_round_is_kept() -> None:
    """Of several rounds, the one with the lowest p99 is reported (a busy machine's slow
    round does not count against the model)."""
    groups = CandidateGroups(
        users=np.array([1], dtype=np.int64),
        lists=(object(),),  # type: ignore[arg-type]
        features=FeatureMatrix(np.ones((5, 2), dtype=np.float32), np.array([0, 5])),
        feature_names=("a", "b"),
        schema_fingerprint="x",
    )
    slow = [t for i in range(20) for t in (float(i), i + 0.050)]
    quick = [t for i in range(20) for t in (100.0 + i, 100.0 + i + 0.002)]
    result = measure_latency(
        _RecordingModel(), groups, LatencyBudget(max_ms=5, candidates=5, calls=20),
        iter(slow + quick).__next__, rounds=2,
    )  # fmt: skip
    assert abs(result.p99_ms - 2.0) < 1e-6
