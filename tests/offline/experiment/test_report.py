"""The HTML report: one self-contained page with embedded plots, written atomically."""

from __future__ import annotations

from pathlib import Path

from offline.decision import Verdict
from offline.report.html import ListedItem, ReportInput, SampleUser, write_report
from tests.offline.experiment.factories import measurement


def _input(verdict: Verdict) -> ReportInput:
    return ReportInput(
        title="Experiment <deeper>",
        facts=(("experiment", "exp-0123456789"), ("dataset", "ml-100k")),
        reasons=measurement(verdict).decision.reasons or ("ndcg@10 improved",),
        measurement=measurement(verdict),
        guardrail_margins={"coverage": 0.05},
        latency_budget_ms=5.0,
        importance={"cross_sar_score": 12.0, "item_log_popularity": 3.0},
        samples=(
            SampleUser(
                user_id=42,
                segment="light",
                history=57,
                champion=(ListedItem("Star Wars (1977)", True), ListedItem("Fargo (1996)", False)),
                challenger=(ListedItem("<script>x</script>", False),),
            ),
        ),
    )


def test_report_is_self_contained_with_plots_verdict_and_samples(tmp_path: Path) -> None:
    """The page holds the verdict, its reasons, the metric table, four embedded PNGs
    (forest, segments, importance) and both arms' lists, with text HTML-escaped."""
    path = write_report(tmp_path / "reports" / "exp.html", _input(Verdict.FAIL))
    html = path.read_text(encoding="utf-8")
    assert "Verdict: FAIL" in html
    assert "guardrail coverage: challenger worse than champion" in html
    assert html.count("src='data:image/png;base64,iVBORw0KGgo") == 3
    assert "Star Wars (1977) ✓" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "Experiment &lt;deeper&gt;" in html
    assert "guardrail, margin 5%" in html
    assert "http://" not in html
    assert "https://" not in html


def test_report_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    """Only the finished page is left in the directory; a PASS page says PASS."""
    path = write_report(tmp_path / "exp.html", _input(Verdict.PASS))
    assert [p.name for p in tmp_path.iterdir()] == ["exp.html"]
    assert "Verdict: PASS" in path.read_text(encoding="utf-8")
