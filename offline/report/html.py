"""One self-contained HTML page per experiment, written whole or not at all.

The page holds the verdict and its reasons, both arms' metrics with intervals,
the Holm adjustment over several success metrics, the deltas (table and forest
plot), the per-segment bars, the challenger's feature importance and both arms'
top 10 for a few sample users, side by side with titles. Plots are embedded PNGs
(data: URIs); nothing is fetched.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from offline.decision import Verdict
from offline.experiment.measure import CHALLENGER, CHAMPION, Measurement
from offline.report.plots import forest_plot, importance_bars, segment_bars
from recmesh.files.atomic import replace_file


@dataclass(frozen=True)
class ListedItem:
    title: str
    #: True when the user consumed the item in the held-out split.
    hit: bool


@dataclass(frozen=True)
class SampleUser:
    user_id: int
    segment: str
    history: int
    champion: tuple[ListedItem, ...]
    challenger: tuple[ListedItem, ...]


@dataclass(frozen=True)
class ReportInput:
    """What the page shows; `facts` are (label, value) rows of the header table."""

    title: str
    facts: tuple[tuple[str, str], ...]
    reasons: tuple[str, ...]
    measurement: Measurement
    guardrail_margins: Mapping[str, float]
    latency_budget_ms: float | None
    importance: Mapping[str, float]
    samples: tuple[SampleUser, ...]


def render_report(report: ReportInput) -> str:
    """The page as one HTML string."""
    m = report.measurement
    verdict = m.decision.verdict
    colour = "#2e7d32" if verdict is Verdict.PASS else "#c62828"
    success = list(m.decision.passed_success_metrics)
    failed = list(m.decision.failed_guardrails)
    segment_metrics = sorted({s.metric for s in m.segments}, key=list(m.metrics).index)[:3]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{escape(report.title)}</title><style>{PAGE_STYLE}</style></head><body>",
        f"<h1>{escape(report.title)}</h1>",
        f"<p class='verdict' style='background:{colour}'>Verdict: {verdict.value}</p>",
        "<ul class='reasons'>",
        *(f"<li>{escape(reason)}</li>" for reason in report.reasons),
        "</ul>",
        html_table(("", ""), report.facts),
        "<h2>Metrics</h2>",
        _metrics_table(m, report.guardrail_margins, report.latency_budget_ms),
        *_holm_section(m),
        "<h2>Deltas (challenger - champion)</h2>",
        embedded_png(forest_plot(m.deltas, success, failed), "forest plot of the deltas"),
        "<h2>Per user segment</h2>",
        "<p>Segments by training history: cold &lt; 20 &lt;= light &lt;= 100 &lt; heavy.</p>",
        embedded_png(segment_bars(m.segments, segment_metrics), "per-segment bars"),
        _segments_table(m),
        "<h2>Feature importance of the challenger</h2>",
        embedded_png(importance_bars(report.importance), "feature importance")
        if report.importance
        else "<p>The challenger has no model.</p>",
        "<h2>Sample users: top 10 of both arms</h2>",
        "<p>Items the user consumed in the held-out split are marked ✓.</p>",
        *(_sample(sample) for sample in report.samples),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(path: Path, report: ReportInput) -> Path:
    """Writes the page to `path` atomically (temporary file, fsync, rename)."""
    return write_page(path, render_report(report))


def write_page(path: Path, page: str) -> Path:
    """Writes `page` to `path` as UTF-8, whole or not at all (temporary file, fsync,
    rename), creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, page.encode("utf-8"))
    return path


def _metrics_table(
    m: Measurement, margins: Mapping[str, float], latency_budget: float | None
) -> str:
    rows = []
    for metric in m.metrics:
        d = m.deltas[metric]
        ours, theirs = m.arms[CHALLENGER][metric], m.arms[CHAMPION][metric]
        role = ""
        if metric in margins:
            role = f"guardrail, margin {margins[metric] * 100:g}%"
        elif latency_budget is not None and metric.startswith("latency"):
            role = f"guardrail, budget {latency_budget:g} ms (measured, not bootstrapped)"
        if metric in m.decision.failed_guardrails:
            role += " — breached"
        rows.append(
            (
                metric,
                format_interval(theirs.value, theirs.low, theirs.high),
                format_interval(ours.value, ours.low, ours.high),
                format_interval(d.delta, d.ci_low, d.ci_high, signed=True),
                "n/a" if math.isnan(d.relative) else f"{d.relative * 100:+.1f}%",
                role,
            )
        )
    header = ("metric", "champion [95% CI]", "challenger [95% CI]", "delta [95% CI]",
              "relative", "role")  # fmt: skip
    return html_table(header, rows)


def _holm_section(m: Measurement) -> list[str]:
    """The Holm steps of the success metrics in rank order; nothing with one of them."""
    steps = m.decision.holm
    if not steps:
        return []
    confidence = m.deltas[steps[0].metric].confidence
    alpha = 1.0 - confidence
    rows = [
        (
            str(step.rank),
            step.metric,
            f"{step.p_value:.4f}",
            f"{step.threshold:.4g}",
            f"{step.adjusted_p:.4f}",
            "yes" if step.metric in m.decision.passed_success_metrics else "no",
        )
        for step in steps
    ]
    header = ("rank", "success metric", "p", "Holm threshold", "adjusted p", "counts as improved")
    return [
        "<h2>Several success metrics: Holm-Bonferroni</h2>",
        f"<p>With {len(steps)} success metrics, one counts as improved only when its "
        f"{confidence * 100:g}% interval lies on the better side of zero and its "
        f"Holm-adjusted p-value is below alpha = {alpha:.4g}. p is the paired bootstrap "
        "p-value of an improvement: twice the share of resampled deltas on the worse side "
        "of zero (the level at which the interval just touches zero), so each improvement "
        f"is tested one-sided at alpha / 2 = {alpha / 2:.4g}, and a PASS on noise has a "
        f"chance of about {alpha / 2 * 100:.3g}%, which Holm keeps however many success "
        "metrics there are. In rank order, each p must be below its threshold, "
        "alpha / (metrics left), and the first that is not stops the rest.</p>",
        html_table(header, rows),
    ]


def _segments_table(m: Measurement) -> str:
    rows = [
        (s.segment, str(s.users), s.metric, f"{s.delta.champion:.4f}", f"{s.delta.challenger:.4f}",
         format_interval(s.delta.delta, s.delta.ci_low, s.delta.ci_high, True))
        for s in m.segments
    ]  # fmt: skip
    header = ("segment", "users", "metric", "champion", "challenger", "delta [95% CI]")
    return html_table(header, rows)


def _sample(sample: SampleUser) -> str:
    def cell(items: tuple[ListedItem, ...]) -> str:
        lines = [
            f"<li class='{'hit' if item.hit else ''}'>{escape(item.title)}"
            f"{' ✓' if item.hit else ''}</li>"
            for item in items
        ]
        return f"<ol>{''.join(lines)}</ol>"

    return (
        f"<h3>user {sample.user_id} ({escape(sample.segment)}, {sample.history} training "
        "items)</h3><table class='side'><tr><th>champion</th><th>challenger</th></tr>"
        f"<tr><td>{cell(sample.champion)}</td><td>{cell(sample.challenger)}</td></tr></table>"
    )


def format_interval(value: float, low: float, high: float, signed: bool = False) -> str:
    """`value [low, high]` to 4 decimals (just `value` when the interval is a point)."""
    form = "+.4f" if signed else ".4f"
    if low == high == value:
        return format(value, form)
    return f"{format(value, form)} [{format(low, form)}, {format(high, form)}]"


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table of `rows` under `header`, every cell escaped."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def embedded_png(png: bytes, alt: str) -> str:
    """An <img> carrying `png` as a data: URI, so the page fetches nothing."""
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt='{escape(alt)}' src='data:image/png;base64,{data}'>"


#: The stylesheet every report page embeds.
PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.verdict { color: white; display: inline-block; padding: 0.4em 1em; font-size: 1.3em;
  border-radius: 4px; }
li.hit { color: #2e7d32; font-weight: bold; }
table.side td { width: 50%; }
img { max-width: 100%; }
"""
