"""bench/offline.py: the table (every row's gap to the champion, the targets met or missed),
where a run on each dataset writes, the refusal of an absent dataset, and a smoke run on
the shared ml-latest-small files."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.offline import (
    CHAMPION_ROW,
    SAR_ROW,
    SPLITS,
    bench_split,
    main,
    markdown,
    output_of,
    smoke_spec,
    write_section,
)
from offline.experiment.spec_loading import load_spec
from recmesh.console.progress import NullProgress
from recmesh.files.repo_paths import REPO_ROOT, SHARED_DATA_DIR

ML_LATEST_SMALL = SHARED_DATA_DIR / "ml-latest-small"
ML_LATEST_SMALL_SPEC = REPO_ROOT / "experiments" / "ml-latest-small.yaml"


def _row(model: str, ndcg: float, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    metrics = {"precision@10": 0.3, "recall@10": 0.2, "ndcg@10": ndcg, "map": 0.1}
    return {"model": model, "metrics": metrics, "train_s": 1.0, "eval_s": 0.5,
            "settings": settings, "published_as": "SAR" if model == SAR_ROW else None}  # fmt: skip


def _result(champion: float, ease: float, dataset: str = "ml-100k") -> dict[str, Any]:
    rows = [_row(SAR_ROW, 0.40), _row("EASE (cornac 3.0.1)", ease, {"l2": 250.0}),
            _row(CHAMPION_ROW, champion)]  # fmt: skip
    return {"command": "python bench/offline.py", "date": "2026-12-06", "spec": "s.yaml",
            "dataset": dataset,
            "machine": {"cores": 2, "cpu": "cpu", "load_average_1m_at_end": 1.0},
            "splits": {"item_stratified:0.75:seed=42": rows}}  # fmt: skip


def test_each_row_shows_the_champions_lead_and_the_published_reference() -> None:
    """The EASE row shows +10.0% (0.44 over 0.40); SAR's row its published 0.3938."""
    text = markdown(_result(champion=0.44, ease=0.40))
    ease = next(line for line in text.splitlines() if line.startswith("| EASE"))
    assert "| +10.0% |" in ease
    sar = next(line for line in text.splitlines() if line.startswith("| SAR |"))
    assert sar.endswith("| 0.3938 |")
    assert "BiVAE (published only, not run here)" in text


def test_targets_met_are_said_so() -> None:
    """+12.5 % over SAR and above EASE: both met."""
    text = markdown(_result(champion=0.45, ease=0.44))
    assert "+12.5% over SAR (at least +10 %: met)" in text
    assert "EASE (cornac 3.0.1) (above it: met)." in text


def test_targets_missed_say_by_how_much() -> None:
    """+5 % over SAR misses by 5 points; EASE at 0.43 is 0.0100 above the champion's 0.42."""
    text = markdown(_result(champion=0.42, ease=0.43))
    assert "+5.0% over SAR (at least +10 %: missed by 5.0 points)" in text
    assert "(above it: missed, NDCG@10 0.0100 short)." in text


def test_ml_100k_keeps_its_results_file_and_section() -> None:
    """The default dataset writes docs/results/offline.json between the offline markers."""
    output = output_of("ml-100k", smoke=False)
    assert output.results == "docs/results/offline.json"
    assert (output.start, output.end) == ("<!-- offline:start -->", "<!-- offline:end -->")
    assert output_of("ml-100k", smoke=True).results == "var/bench/offline-smoke.json"


def test_another_dataset_writes_its_own_results_file_and_section() -> None:
    """ml-latest-small writes offline-ml-latest-small.json between markers of its own."""
    output = output_of("ml-latest-small", smoke=False)
    assert output.title == "MovieLens ml-latest-small"
    assert output.results == "docs/results/offline-ml-latest-small.json"
    assert output.start == "<!-- offline:ml-latest-small:start -->"
    assert output.end == "<!-- offline:ml-latest-small:end -->"
    smoke = output_of("ml-latest-small", smoke=True)
    assert smoke.results == "var/bench/offline-ml-latest-small-smoke.json"
    with pytest.raises(ValueError, match="cannot name a results file"):
        output_of("../escape", smoke=False)


def test_writing_one_datasets_section_leaves_the_others_alone(tmp_path: Path) -> None:
    """Rewriting the ml-latest-small section twice keeps ml-100k's section byte for byte."""
    page = tmp_path / "benchmarks.md"
    ml_100k = markdown(_result(champion=0.44, ease=0.40))
    page.write_text(f"# Benchmarks\n\n{ml_100k}\n\n## After\n", encoding="utf-8")
    output = output_of("ml-latest-small", smoke=False)
    for champion in (0.45, 0.47):
        section = markdown(_result(champion=champion, ease=0.40, dataset="ml-latest-small"))
        write_section(page, section, output)
    text = page.read_text(encoding="utf-8")
    assert ml_100k in text
    assert text.count(output.start) == 1
    assert "| EASE (cornac 3.0.1) | 0.3000 | 0.2000 | 0.4000 | 0.1000 | +0.0% | +17.5% |" in text
    assert "+12.5% over SAR" not in text


def test_a_dataset_without_published_figures_shows_none() -> None:
    """ml-latest-small's table has no published column or rows, and says the library
    settings were chosen on ml-100k."""
    text = markdown(_result(champion=0.44, ease=0.40, dataset="ml-latest-small"))
    assert text.startswith("<!-- offline:ml-latest-small:start -->\n## Offline quality "
                           "(MovieLens ml-latest-small)")  # fmt: skip
    assert "published NDCG@10" not in text
    assert "BiVAE" not in text
    sar = next(line for line in text.splitlines() if line.startswith("| SAR |"))
    assert sar.endswith("| 1.0 | 0.5 |")
    assert "not re-tuned on this dataset" in text


def test_absent_dataset_files_are_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spec whose log and metadata files are absent exits 1 naming both, writing nothing."""
    body = yaml.safe_load(ML_LATEST_SMALL_SPEC.read_text(encoding="utf-8"))
    body["dataset"]["name"] = "absent-log"
    body["dataset"]["path"] = str(tmp_path / "gone" / "ratings.csv")
    body["dataset"]["items"]["path"] = str(tmp_path / "gone" / "movies.csv")
    spec = tmp_path / "absent.yaml"
    spec.write_text(yaml.safe_dump(body), encoding="utf-8")
    assert main(["--spec", str(spec), "--smoke"]) == 1
    error = capsys.readouterr().err
    assert "dataset 'absent-log'" in error
    assert str(tmp_path / "gone" / "ratings.csv") in error
    assert str(tmp_path / "gone" / "movies.csv") in error
    assert not (REPO_ROOT / output_of("absent-log", smoke=True).results).exists()


def test_smoke_run_on_ml_latest_small(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The shipped ml-latest-small spec in smoke mode (150 users, one label fold, ten trees)
    gives every row finite figures on the user split."""
    if not ML_LATEST_SMALL.is_dir():
        pytest.skip(f"real-data test: {ML_LATEST_SMALL} is absent (MovieLens ml-latest-small)")
    monkeypatch.chdir(REPO_ROOT)  # the spec's paths are from the repository root
    spec = smoke_spec(load_spec(ML_LATEST_SMALL_SPEC))
    rows = bench_split(dataclasses.replace(spec, split=SPLITS[0]), tmp_path, NullProgress())
    assert [row.model for row in rows][1] == SAR_ROW
    assert rows[-1].model == CHAMPION_ROW
    assert len(rows) == 8
    for row in rows:
        assert all(math.isfinite(value) and 0 <= value <= 1 for value in row.metrics.values())
    assert rows[-1].metrics["ndcg@10"] > 0
