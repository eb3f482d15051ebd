"""The trial log as one self-contained HTML page: what was searched and on which rows, a
plot of every trial's hold-out metric with the best so far and of the early-stopping
metric each trial reported (where pruning stopped it), and a table of every trial;
`trial_log` is the same log with exact values, for a JSON file beside the page."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from offline.decision import Direction
from offline.tuning.objective import describe
from offline.tuning.study import COMPLETE, TrialRecord, TuningResult
from recmesh.files.atomic import replace_file

_COMPLETE = "#1e88e5"
_PRUNED = "#b0bec5"
_BEST = "#2e7d32"


@dataclass(frozen=True)
class TuningPage:
    """What the page says besides the trials: the spec, the rows and the outputs."""

    spec_name: str
    spec_path: str
    holdout: str
    early_stopping_metric: str
    tuned_spec_path: str
    result: TuningResult


def trials_plot(result: TuningResult, early_stopping_metric: str) -> bytes:
    """Left: each complete trial's hold-out metric and the best so far; right: the
    early-stopping metric each trial reported by tree count, pruned trials in grey."""
    figure = Figure(figsize=(11, 3.8))
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    done = [(t.number + 1, t.value) for t in result.trials if t.value is not None]
    numbers = [number for number, _ in done]
    left.plot(numbers, [value for _, value in done], "o", color=_COMPLETE, label="trial")
    best: list[float] = []
    for _, value in done:
        better = not best or (
            value > best[-1] if result.direction is Direction.HIGHER_IS_BETTER else value < best[-1]
        )
        best.append(value if better else best[-1])
    left.step(numbers, best, where="post", color=_BEST, label="best so far")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("trial")
    left.set_ylabel(f"{result.metric} on the hold-out of TRAIN")
    left.legend(loc="lower right")
    left.grid(alpha=0.3)
    for t in result.trials:
        if not t.curve:
            continue
        trees, values = zip(*t.curve, strict=True)
        colour = _COMPLETE if t.state == COMPLETE else _PRUNED
        right.plot(trees, [abs(v) for v in values], color=colour, lw=1, alpha=0.8)
        if t.state != COMPLETE:
            right.plot(trees[-1:], [abs(values[-1])], "x", color=colour)
    right.set_xlabel("trees")
    right.set_ylabel(f"early-stopping {early_stopping_metric} (pruned: grey)")
    right.grid(alpha=0.3)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def render_page(page: TuningPage) -> str:
    result = page.result
    png = base64.b64encode(trials_plot(result, page.early_stopping_metric)).decode("ascii")
    baseline = result.baseline
    better = "higher" if result.direction is Direction.HIGHER_IS_BETTER else "lower"
    pruned = sum(t.state != COMPLETE for t in result.trials)
    own = (
        "outside the space"
        if baseline is None
        else f"trial {baseline.number + 1}: "
        + ("pruned" if baseline.value is None else f"{result.metric} {baseline.value:.4f}")
    )
    facts = [
        ("spec", f"{page.spec_name} ({page.spec_path})"),
        ("scored on", page.holdout),
        ("metric", f"{result.metric} ({better} is better)"),
        ("trials", f"{len(result.trials)} ({len(result.trials) - pruned} complete, "
                   f"{pruned} pruned) in {result.seconds:.0f} s"),
        ("best", f"trial {result.best.number + 1}: {result.metric} {result.best.value:.4f} "
                 f"({describe(result.best.values)})"),
        ("the spec's own values", own),
        ("tuned spec", page.tuned_spec_path),
    ]  # fmt: skip
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>tuning {escape(page.spec_name)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
        ".best{background:#e8f5e9}.pruned{color:#78909c}</style></head><body>"
        f"<h1>Tuning {escape(page.spec_name)}</h1><table>{rows}</table>"
        f"<h2>Trials</h2><img alt='trials' src='data:image/png;base64,{png}'>"
        f"{_trials_table(result)}</body></html>"
    )


def _trials_table(result: TuningResult) -> str:
    paths = list(result.trials[0].values) if result.trials else []
    header = ["trial", "state", result.metric, "trees", "s", *(p.rsplit(".", 1)[-1] for p in paths)]
    lines = ["<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>"]
    for t in result.trials:
        cells = [str(t.number + 1), t.state, "" if t.value is None else f"{t.value:.4f}",
                 str(t.trees), f"{t.seconds:.1f}", *(_cell(t, p) for p in paths)]  # fmt: skip
        css = "best" if t.number == result.best.number else "" if t.state == COMPLETE else "pruned"
        lines.append(f"<tr class='{css}'>" + "".join(f"<td>{escape(c)}</td>" for c in cells)
                     + "</tr>")  # fmt: skip
    return "".join(lines) + "</table>"


def _cell(trial: TrialRecord, path: str) -> str:
    value = trial.values.get(path)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def trial_log(result: TuningResult) -> dict[str, Any]:
    """Every trial with its exact values (the page rounds them), for the JSON log."""
    return {
        "metric": result.metric,
        "best_trial": result.best.number + 1,
        "seconds": result.seconds,
        "trials": [
            {"trial": t.number + 1, "state": t.state, "value": t.value, "trees": t.trees,
             "seconds": t.seconds, "values": dict(t.values)}
            for t in result.trials
        ],
    }  # fmt: skip


def write_page(path: Path, page: TuningPage) -> Path:
    """Writes the page whole (temporary file, then rename) and returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, render_page(page).encode("utf-8"))
    return path
