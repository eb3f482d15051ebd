"""The HTML report: one self-contained page with embedded plots, written atomically."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from offline.decision import DecisionRule, SuccessMetric, Verdict, decide
from offline.report.html import ListedItem, ReportInput, SampleUser, write_report
from offline.stats.bootstrap import DeltaEstimate
from tests.offline.experiment.factories import delta, measurement


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


def _holm_page(tmp_path: Path) -> str:
    """The page of a run judged on three success metrics (ndcg@10's p 0.03, not counted)."""
    m = replace(
        measurement(Verdict.PASS), decision=decide(_HOLM_RULE, _three_success()), rule=_HOLM_RULE
    )
    report = replace(_input(Verdict.PASS), measurement=m, reasons=m.decision.reasons)
    return write_report(tmp_path / "exp.html", report).read_text(encoding="utf-8")


def test_report_shows_the_holm_adjustment_of_several_success_metrics(tmp_path: Path) -> None:
    """With three success metrics, the page has the Holm table in rank order: ndcg@10's
    p 0.03 against the threshold 0.01667, adjusted 0.09, not counted; one success metric
    gives no such section."""
    html = _holm_page(tmp_path)
    assert "Verdict: FAIL" in html
    assert "Several success metrics: Holm-Bonferroni" in html
    assert (
        "<tr><td>1</td><td>ndcg@10</td><td>0.0300</td><td>0.01667</td><td>0.0900</td>"
        "<td>no</td></tr>"
    ) in html
    assert "Holm-adjusted p 0.0900 is not below 0.05" in html
    single = write_report(tmp_path / "one.html", _input(Verdict.PASS)).read_text("utf-8")
    assert "Holm-Bonferroni" not in single


def test_report_states_the_one_sided_error_of_a_pass_on_noise(tmp_path: Path) -> None:
    """The Holm section says what alpha 0.05 allows: p is twice a one-sided bootstrap tail,
    so each improvement is tested one-sided at 0.025 and noise passes about 2.5% of the
    time, not "at most 5%"."""
    html = _holm_page(tmp_path)
    assert "tested one-sided at alpha / 2 = 0.025" in html
    assert "a PASS on noise has a chance of about 2.5%" in html
    assert "at most 5%" not in html


_HOLM_RULE = DecisionRule(
    success_metrics=(SuccessMetric("ndcg@10"), SuccessMetric("recall@10"), SuccessMetric("map")),
    min_resamples=200,
)


def _three_success() -> dict[str, DeltaEstimate]:
    ndcg = replace(delta(0.36, 0.37, half_width=0.009), p_increase=0.03, p_decrease=1.0)
    recall = replace(delta(0.2, 0.2), p_increase=0.5, p_decrease=0.5)
    mean_ap = replace(delta(0.3, 0.3), p_increase=0.6, p_decrease=0.6)
    return {"ndcg@10": ndcg, "recall@10": recall, "map": mean_ap, "coverage": delta(0.13, 0.13)}
