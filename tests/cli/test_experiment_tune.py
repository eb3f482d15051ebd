"""`recmesh experiment tune`: the tuned spec and the trial log, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from offline.experiment.footprint import THREAD_POOL_VARIABLES
from offline.experiment.spec_loading import load_spec
from tests.offline.experiment.specs import write_spec
from tests.offline.tuning.specs import tuning_spec


@pytest.fixture(autouse=True)
def _thread_pool_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """`main` runs in this process: its thread-pool caps are undone after each test."""
    for name in THREAD_POOL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _tune(spec: Path, tmp_path: Path, ml100k_dir: Path, *extra: str) -> list[str]:
    # --nice 0: the command lowers its own priority for good, and this is the test process.
    return [
        "experiment", "tune", str(spec), "--json", "--nice", "0", "--threads", "1",
        "--data-dir", str(ml100k_dir.parent),
        "--interaction-log", str(tmp_path / "interactions"),
        "--out", str(tmp_path / "tuned.yaml"), "--report", str(tmp_path / "tune.html"),
        *extra,
    ]  # fmt: skip


def test_tune_writes_the_best_values_and_the_trial_log(
    tmp_path: Path, ml100k_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three trials: the tuned spec holds the best trial's values (and still its tuning:
    block) and says it was tuned on TRAIN; the page lists every trial with a plot."""
    spec = write_spec(tmp_path / "spec.yaml", tuning_spec())
    assert main(_tune(spec, tmp_path, ml100k_dir, "--trials", "3")) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["trials"] == 3
    assert printed["spec_values"]["trial"] == 1
    best = printed["best"]["values"]
    tuned = load_spec(tmp_path / "tuned.yaml")
    assert tuned.training.labels.folds == best["training.labels.folds"]
    assert tuned.training.xgboost.learning_rate == best["training.xgboost.learning_rate"]
    assert tuned.training.xgboost.objective == best["training.xgboost.objective"]
    assert tuned.tuning == load_spec(spec).tuning
    text = (tmp_path / "tuned.yaml").read_text()
    assert text.startswith("# Tuned by `recmesh experiment tune")
    assert "the test split was never read" in text
    log = json.loads((tmp_path / "tune.json").read_text())
    assert log["best_trial"] == printed["best"]["trial"]
    assert [t["trial"] for t in log["trials"]] == [1, 2, 3]
    assert log["trials"][log["best_trial"] - 1]["values"] == best
    page = (tmp_path / "tune.html").read_text()
    assert page.count("<tr class=") == 3
    assert "data:image/png;base64," in page


def test_a_spec_without_a_tuning_block_is_refused(
    tmp_path: Path, ml100k_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing to search: exit 2, no tuned spec written."""
    body = tuning_spec()
    del body["tuning"]
    spec = write_spec(tmp_path / "spec.yaml", body)
    assert main(_tune(spec, tmp_path, ml100k_dir)) == 2
    assert "has no tuning: block" in capsys.readouterr().err
    assert not (tmp_path / "tuned.yaml").exists()


def test_zero_trials_are_refused(tmp_path: Path, ml100k_dir: Path) -> None:
    """--trials 0 is a usage error (exit 2)."""
    spec = write_spec(tmp_path / "spec.yaml", tuning_spec())
    assert main(_tune(spec, tmp_path, ml100k_dir, "--trials", "0")) == 2
