"""The report's figures, each rendered to PNG bytes with matplotlib's Agg backend.

Figures are built on `matplotlib.figure.Figure` directly (no pyplot), so nothing
global is touched and no display is needed.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from offline.experiment.measure import SegmentDelta
from offline.stats.bootstrap import DeltaEstimate

_GOOD = "#2e7d32"
_BAD = "#c62828"
_NEUTRAL = "#546e7a"
_CHAMPION = "#90a4ae"
_CHALLENGER = "#1e88e5"


def png_bytes(figure: Figure) -> bytes:
    """`figure` rendered to PNG at 100 dpi, cropped to its content."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def forest_plot(
    deltas: Mapping[str, DeltaEstimate], good: Sequence[str], bad: Sequence[str]
) -> bytes:
    """Each metric's delta relative to the champion (%), with its interval; metrics in
    `good` are drawn green (improved success metrics), in `bad` red (breached guardrails)."""
    names = [m for m, d in deltas.items() if d.champion != 0 and math.isfinite(d.relative)]
    figure = Figure(figsize=(7.5, 0.45 * len(names) + 1.2))
    axes = figure.add_subplot()
    for row, name in enumerate(reversed(names)):
        d = deltas[name]
        scale = 100.0 / abs(d.champion)
        colour = _GOOD if name in good else _BAD if name in bad else _NEUTRAL
        axes.plot([d.ci_low * scale, d.ci_high * scale], [row, row], color=colour, lw=2.5)
        axes.plot([d.delta * scale], [row], "o", color=colour, ms=6)
    axes.axvline(0.0, color="black", lw=0.8)
    axes.set_yticks(range(len(names)), list(reversed(names)))
    axes.set_xlabel("challenger - champion, % of the champion's value (95% CI)")
    axes.grid(axis="x", alpha=0.3)
    return png_bytes(figure)


def segment_bars(segments: Sequence[SegmentDelta], metrics: Sequence[str]) -> bytes:
    """Per metric, both arms' means in each user segment, the delta interval as an error
    bar on the challenger's bar."""
    figure = Figure(figsize=(4.2 * max(1, len(metrics)), 3.4))
    for column, metric in enumerate(metrics):
        axes = figure.add_subplot(1, max(1, len(metrics)), column + 1)
        rows = [s for s in segments if s.metric == metric]
        labels = [f"{s.segment}\n({s.users} users)" for s in rows]
        positions = list(range(len(rows)))
        champion = [s.delta.champion for s in rows]
        challenger = [s.delta.challenger for s in rows]
        errors = [
            [s.delta.delta - s.delta.ci_low for s in rows],
            [s.delta.ci_high - s.delta.delta for s in rows],
        ]
        axes.bar([p - 0.2 for p in positions], champion, 0.4, label="champion", color=_CHAMPION)
        axes.bar([p + 0.2 for p in positions], challenger, 0.4, yerr=errors, capsize=3,
                 label="challenger", color=_CHALLENGER)  # fmt: skip
        axes.set_xticks(positions, labels)
        axes.set_title(metric)
        axes.legend(fontsize=8)
    return png_bytes(figure)


def importance_bars(importance: Mapping[str, float], top: int = 20) -> bytes:
    """The challenger's features by total gain, largest first (at most `top`)."""
    ranked = sorted(importance.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    figure = Figure(figsize=(7.5, 0.3 * max(1, len(ranked)) + 1.0))
    axes = figure.add_subplot()
    total = sum(importance.values()) or 1.0
    names = [name for name, _ in reversed(ranked)]
    shares = [100.0 * gain / total for _, gain in reversed(ranked)]
    axes.barh(names, shares, color=_CHALLENGER)
    axes.set_xlabel("share of the total gain (%)")
    axes.grid(axis="x", alpha=0.3)
    return png_bytes(figure)
