"""The same spec and seed, run twice, give identical models and identical numbers."""

from __future__ import annotations

from pathlib import Path

from offline.experiment.arms import Arm
from offline.experiment.measure import Measurement, decision_rule
from offline.experiment.pipeline import evaluate_arms, prepare_data, train_challenger
from offline.experiment.spec_loading import parse_spec
from recmesh.console.progress import NullProgress
from recmesh.snapshot.build import build_snapshot
from tests.offline.experiment.specs import small_spec


def _run(data_dir: Path) -> tuple[bytes, Measurement]:
    body = small_spec(dataset={"name": "ml-100k", "max_users": 100})
    body["training"]["xgboost"]["nthread"] = 2
    body["training"]["xgboost"]["subsample"] = 0.7
    spec = parse_spec(body)
    progress = NullProgress()
    data = prepare_data(spec, data_dir, progress)
    challenger = train_challenger(spec, data, progress)
    baseline = Arm("champion", "baseline", build_snapshot(data.dataset, data.train), None)
    return challenger.trained.model_bytes, evaluate_arms(
        spec, decision_rule(spec), data, challenger.arm, baseline, progress
    ).measurement


def _numbers(m: Measurement) -> dict[str, object]:
    """Everything but the measured latency."""
    return {
        "arms": {
            arm: {k: v for k, v in values.items() if k != "latency_p99_ms"}
            for arm, values in m.arms.items()
        },
        "deltas": {k: v for k, v in m.deltas.items() if k != "latency_p99_ms"},
        "segments": m.segments,
        "decision": m.decision if m.latency is None else m.decision.passed_success_metrics,
    }


def test_two_runs_give_identical_models_and_numbers(ml100k_dir: Path) -> None:
    """Training (2 threads, row subsampling) and every bootstrapped number repeat exactly."""
    first_model, first = _run(ml100k_dir.parent)
    second_model, second = _run(ml100k_dir.parent)
    assert first_model == second_model
    assert _numbers(first) == _numbers(second)
    assert first.users == 100
