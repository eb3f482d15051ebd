"""The shadow report's figures, as PNG bytes (matplotlib's Agg backend, no pyplot)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from offline.report.plots import png_bytes
from offline.shadow.diff import ShadowDiff
from offline.shadow.records import ARMS, CHALLENGER, CHAMPION
from offline.stats.bootstrap import DeltaEstimate

_COLOURS = {CHAMPION: "#90a4ae", CHALLENGER: "#1e88e5"}


def agreement_histograms(diff: ShadowDiff) -> bytes:
    """Per request: overlap@k and rank-biased overlap of the two lists, side by side."""
    figure = Figure(figsize=(9.0, 3.2))
    # overlap@k takes the values i/k: one bin centred on each, so none falls empty
    # between two of them; RBO is continuous.
    k = max(1, diff.k)
    measures = (
        (
            f"overlap@{diff.k}",
            [r.overlap for r in diff.per_request if r.overlap is not None],
            ((np.arange(k + 2) - 0.5) / k).tolist(),
        ),
        (
            f"RBO (p = {diff.persistence:g})",
            [r.rbo for r in diff.per_request if r.rbo is not None],
            np.linspace(0.0, 1.0, 21).tolist(),
        ),
    )
    for column, (name, values, bins) in enumerate(measures):
        axes = figure.add_subplot(1, 2, column + 1)
        axes.hist(values, bins=bins, color=_COLOURS[CHALLENGER])
        axes.set_xlabel(name)
        axes.set_ylabel("requests")
    return png_bytes(figure)


def score_distributions(diff: ShadowDiff) -> bytes:
    """Both arms' shown scores, overlaid histograms with the KS statistic in the title."""
    figure = Figure(figsize=(7.5, 3.2))
    axes = figure.add_subplot()
    pooled = np.concatenate([diff.scores[arm] for arm in ARMS])
    bins = np.histogram_bin_edges(pooled, bins=30).tolist() if len(pooled) else 10
    for arm in ARMS:
        axes.hist(diff.scores[arm], bins=bins, alpha=0.6, label=arm, color=_COLOURS[arm])
    ks = "n/a" if diff.score_ks is None else f"{diff.score_ks:.3f}"
    axes.set_title(f"scores shown (KS statistic {ks})")
    axes.set_xlabel("score")
    axes.legend(fontsize=8)
    return png_bytes(figure)


def latency_cdfs(diff: ShadowDiff) -> bytes:
    """The empirical distribution of each arm's latency over all requests."""
    figure = Figure(figsize=(7.5, 3.2))
    axes = figure.add_subplot()
    for arm in ARMS:
        values = np.sort([r.latency_ms[arm] for r in diff.per_request])
        shares = np.arange(1, len(values) + 1) / len(values)
        axes.step(values, shares, where="post", label=arm, color=_COLOURS[arm])
    axes.set_xlabel("latency (ms)")
    axes.set_ylabel("share of requests")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return png_bytes(figure)


def arm_bars(named: Sequence[tuple[str, DeltaEstimate]]) -> bytes:
    """Per measure, both arms' values; the paired delta's interval as an error bar on the
    challenger's bar."""
    figure = Figure(figsize=(3.0 * max(1, len(named)), 3.2))
    for column, (name, d) in enumerate(named):
        axes = figure.add_subplot(1, max(1, len(named)), column + 1)
        error = [[d.delta - d.ci_low], [d.ci_high - d.delta]]
        axes.bar([0], [d.champion], color=_COLOURS[CHAMPION])
        axes.bar([1], [d.challenger], yerr=error, capsize=4, color=_COLOURS[CHALLENGER])
        axes.set_xticks([0, 1], list(ARMS))
        axes.set_title(name)
        # Every measure here (rates, popularity) is a non-negative quantity.
        axes.set_ylim(bottom=0.0)
    return png_bytes(figure)
