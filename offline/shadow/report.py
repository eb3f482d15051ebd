"""The shadow report: one self-contained HTML page with plots, and its summary as a dict.

The summary (`summary`) is plain JSON data, the evidence a reviewer sees when it
is attached to the experiment; the page (`write_report`) shows the same numbers
with their intervals and the plots, embedded as PNGs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from offline.report.html import (
    PAGE_STYLE,
    embedded_png,
    format_interval,
    html_table,
    write_page,
)
from offline.shadow.diff import ShadowDiff
from offline.shadow.log_reader import PairedLog
from offline.shadow.plots import agreement_histograms, arm_bars, latency_cdfs, score_distributions
from offline.shadow.records import CHALLENGER, CHAMPION
from offline.stats.bootstrap import DeltaEstimate, Interval


@dataclass(frozen=True)
class ShadowReport:
    """What the page shows; `facts` are (label, value) rows of the header table."""

    title: str
    facts: tuple[tuple[str, str], ...]
    diff: ShadowDiff
    log: PairedLog


def summary(report: ShadowReport) -> dict[str, Any]:
    """The diff's overall numbers as JSON data: intervals as {value, low, high}, deltas as
    {champion, challenger, delta, low, high}, None where there was nothing to measure."""
    d = report.diff
    return {
        "k": d.k,
        "rbo_persistence": d.persistence,
        "confidence": d.confidence,
        "requests": d.requests,
        "compared": d.compared,
        "hit_requests": d.hit_requests,
        "unpaired": len(report.log.unpaired),
        "duplicates": len(report.log.duplicates),
        "overlap": _interval(d.overlap),
        "rbo": _interval(d.rbo),
        "novel_share": _interval(d.novel_share),
        "novel_item_share": d.novel_item_share,
        "score_ks": d.score_ks,
        "score_quantiles": {arm: list(q) for arm, q in d.score_quantiles.items()},
        "mean_score": _delta(d.mean_score),
        "coverage": dict(d.coverage),
        "popularity": _delta(d.popularity),
        "latency_ms": _delta(d.latency_ms),
        "latency_p99_ms": dict(d.latency_p99_ms),
        "error_rate": _delta(d.error_rate),
        "hit_rate": _delta(d.hit_rate),
    }


def render_report(report: ShadowReport) -> str:
    """The page as one HTML string."""
    d = report.diff
    log = report.log
    bars = [
        (name, value)
        for name, value in (
            ("error rate", d.error_rate),
            (f"hit rate@{d.k}", d.hit_rate),
            ("mean popularity", d.popularity),
        )
        if value is not None
    ]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{escape(report.title)}</title><style>{PAGE_STYLE}</style></head><body>",
        f"<h1>{escape(report.title)}</h1>",
        html_table(("", ""), report.facts),
        "<h2>Requests</h2>",
        html_table(
            ("", ""),
            (
                ("shadowed requests (both arms logged)", str(d.requests)),
                ("answered by both arms (list measures)", str(d.compared)),
                ("with a later consumption (hit rate)", str(d.hit_requests)),
                ("records without their other arm", str(len(log.unpaired))),
                ("requests with an arm logged twice (first kept)", str(len(log.duplicates))),
                ("impressions of requests not shadowed", str(log.unmarked)),
            ),
        ),
        "<h2>Agreement of the two lists</h2>",
        f"<p>Rank-biased overlap weighs depth i by p<sup>i-1</sup> with persistence "
        f"p = {d.persistence:g}, truncated at depth {d.k} and normalised so identical "
        "lists score 1 and disjoint ones 0. Intervals are "
        f"{d.confidence * 100:g}% percentile bootstraps over requests.</p>",
        html_table(("measure", f"value [{d.confidence * 100:g}% CI]"), _agreement_rows(d)),
        embedded_png(agreement_histograms(d), "overlap and RBO per request"),
        "<h2>Each arm</h2>",
        html_table(("measure", "champion", "challenger", "delta [CI]"), _arm_rows(d)),
        embedded_png(arm_bars(bars), "both arms' error rate, hit rate and popularity")
        if bars
        else "",
        "<h2>Scores</h2>",
        embedded_png(score_distributions(d), "score distributions of both arms"),
        "<h2>Latency</h2>",
        embedded_png(latency_cdfs(d), "latency distributions of both arms"),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(path: Path, report: ShadowReport) -> Path:
    """Writes the page to `path` atomically (temporary file, fsync, rename)."""
    return write_page(path, render_report(report))


def _agreement_rows(d: ShadowDiff) -> list[tuple[str, str]]:
    rows = [
        (f"overlap@{d.k}", d.overlap),
        (f"rank-biased overlap (p = {d.persistence:g})", d.rbo),
        ("share of a challenger list the champion never showed", d.novel_share),
    ]
    shown = [(name, _shown_interval(value)) for name, value in rows]
    novel = d.novel_item_share
    novel_text = "n/a" if novel is None else f"{novel:.4f}"
    shown.append(("challenger's distinct items the champion never showed", novel_text))
    ks = "n/a" if d.score_ks is None else f"{d.score_ks:.4f}"
    shown.append(("score shift: Kolmogorov-Smirnov statistic", ks))
    return shown


def _arm_rows(d: ShadowDiff) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    for name, value in (
        (f"hit rate@{d.k}", d.hit_rate),
        ("error rate", d.error_rate),
        ("mean latency (ms)", d.latency_ms),
        ("mean popularity (training rows)", d.popularity),
        ("mean score of a list", d.mean_score),
    ):
        if value is not None:
            interval = format_interval(value.delta, value.ci_low, value.ci_high, signed=True)
            rows.append((name, f"{value.champion:.4f}", f"{value.challenger:.4f}", interval))
    p99 = d.latency_p99_ms
    rows.append(("p99 latency (ms)", f"{p99[CHAMPION]:.2f}", f"{p99[CHALLENGER]:.2f}", ""))
    cover = d.coverage
    rows.append(("catalogue coverage", f"{cover[CHAMPION]:.4f}", f"{cover[CHALLENGER]:.4f}", ""))
    for arm in (CHAMPION, CHALLENGER):
        if arm in d.score_quantiles:
            quantiles = ", ".join(f"{q:.4f}" for q in d.score_quantiles[arm])
            rows.append((f"score 10/50/90% quantiles, {arm}", "", "", quantiles))
    return rows


def _shown_interval(value: Interval | None) -> str:
    return "n/a" if value is None else format_interval(value.value, value.low, value.high)


def _interval(value: Interval | None) -> dict[str, float] | None:
    if value is None:
        return None
    return {"value": value.value, "low": value.low, "high": value.high}


def _delta(value: DeltaEstimate | None) -> dict[str, float | None] | None:
    if value is None:
        return None
    return {
        "champion": value.champion,
        "challenger": value.challenger,
        "delta": value.delta,
        "low": value.ci_low,
        "high": value.ci_high,
        "relative": None if math.isnan(value.relative) else value.relative,
    }
