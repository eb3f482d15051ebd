"""bench/offline.py's table: every row's gap to the champion and the targets, met or missed."""

from __future__ import annotations

from typing import Any

from bench.offline import CHAMPION_ROW, SAR_ROW, markdown


def _row(model: str, ndcg: float, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    metrics = {"precision@10": 0.3, "recall@10": 0.2, "ndcg@10": ndcg, "map": 0.1}
    return {"model": model, "metrics": metrics, "train_s": 1.0, "eval_s": 0.5,
            "settings": settings, "published_as": "SAR" if model == SAR_ROW else None}  # fmt: skip


def _result(champion: float, ease: float) -> dict[str, Any]:
    rows = [_row(SAR_ROW, 0.40), _row("EASE (cornac 3.0.1)", ease, {"l2": 250.0}),
            _row(CHAMPION_ROW, champion)]  # fmt: skip
    return {"command": "python bench/offline.py", "date": "2026-12-06", "spec": "s.yaml",
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
