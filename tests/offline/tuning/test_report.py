"""The trial log page: the facts, one table row per trial, the plot."""

from __future__ import annotations

from pathlib import Path

from offline.decision import Direction
from offline.tuning.report import TuningPage, write_page
from offline.tuning.study import COMPLETE, PRUNED, TrialRecord, TuningResult


def _trial(number: int, value: float | None) -> TrialRecord:
    return TrialRecord(
        number=number,
        state=COMPLETE if value is not None else PRUNED,
        values={"training.xgboost.max_depth": 3 + number, "training.xgboost.eta": 0.05},
        value=value,
        trees=10 * (number + 1),
        seconds=1.5,
        curve=((10, 0.2), (20, 0.25)) if value is not None else ((10, 0.1),),
    )


def test_page_lists_every_trial_and_marks_the_best(tmp_path: Path) -> None:
    """Each trial is a row (the best highlighted, the pruned greyed), with the plot; the
    facts name the best trial and the spec's own values."""
    trials = (_trial(0, 0.30), _trial(1, None), _trial(2, 0.32))
    result = TuningResult(
        metric="ndcg@10", direction=Direction.HIGHER_IS_BETTER, trials=trials,
        best=trials[2], baseline=trials[0], seconds=12.0,
    )  # fmt: skip
    page = TuningPage("xgb", "experiments/xgb.yaml", "rows of TRAIN", "ndcg@10", "out.yaml", result)
    path = write_page(tmp_path / "sub" / "tune.html", page)
    html = path.read_text()
    assert html.count("<tr class='best'>") == 1
    assert html.count("<tr class='pruned'>") == 1
    assert html.count("<tr class=") == 3
    assert "trial 3: ndcg@10 0.3200 (max_depth=5 eta=0.05)" in html
    assert "trial 1: ndcg@10 0.3000" in html
    assert "3 (2 complete, 1 pruned)" in html
    assert "data:image/png;base64," in html
