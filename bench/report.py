"""Writes benchmark results: JSON under docs/results/ and a section of docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recmesh.files.repo_paths import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "docs" / "results"
BENCHMARKS_MD = REPO_ROOT / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nEach section is written by the benchmark named in it.\n"


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def write_section(name: str, markdown: str) -> None:
    """Replaces the section between `<!-- name:start -->` and `<!-- name:end -->`."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else HEADER
    block = f"{start}\n{markdown.rstrip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text)


def ms_grid(
    corner: str, column: str, cells: dict[str, dict[str, float]], labels: dict[str, str]
) -> list[str]:
    """Markdown lines of a table of ms figures: one row per key of `cells` (named by
    `labels`), one column per inner key (headed `column` KEY ms)."""
    keys = list(next(iter(cells.values())))
    return [
        f"| {corner} | " + " | ".join(f"{column} {k} ms" for k in keys) + " |",
        "| --- | " + " | ".join("---:" for _ in keys) + " |",
        *(
            f"| {labels[row]} | " + " | ".join(f"{cells[row][k]:.3f}" for k in keys) + " |"
            for row in cells
        ),
    ]


def publish(name: str, result: dict[str, Any], markdown: Callable[[dict[str, Any]], str]) -> None:
    """Writes docs/results/NAME.json and the NAME section of docs/benchmarks.md."""
    write_json(name, result)
    write_section(name, markdown(result))
