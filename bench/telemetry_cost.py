"""What the mesh's telemetry costs: CPU per Recommend with each part switched off in turn.

    python -m bench.telemetry_cost [--rate 100] [--duration 20] [--smoke]

Starts the local mesh in a temporary state dir (as bench/serving.py does), trains and
promotes the default champion (the smoke run keeps the baseline version), then runs
the same open-loop load (bench/loadgen.py, k=10, 300 users) once per configuration,
restarting the mesh on the same state between them with the serving processes'
telemetry switches (`--telemetry-off`, given to every process through
$RECMESH_TELEMETRY_OFF; services/common/options.py):

    all on, spans off, span export off, metrics off, logs off, impression log off,
    all off, all on again

For each: the four services' CPU from /proc before and after (CPU per answered
Recommend summed over recommend, candidates, features and ranking, and each one's),
p50/p99, degraded answers and errors (a short warm-up run before each is not
counted), and the bytes the span file, the impression log and the services' logs grew
by from the mesh's start to its stop (what shows a switch took effect). The smoke
run (1 s at 50 rps, baseline version) runs all on, all off, all on only.
The difference of each against all on (the mean of the first and last run: their
spread says how much the figures drift within the run). Writes
docs/results/telemetry_cost.json and the `telemetry_cost` section of docs/benchmarks.md
(not in smoke runs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.champion import current_pointer, promote_default_champion
from bench.report import machine, publish
from bench.serving import LOADGEN, cpu_seconds, free_ports, run_json, wait_until_serving
from local_mesh.layout import MeshLayout
from local_mesh.local_mesh import LocalMesh
from recmesh.data.loaders import load_ml100k
from recmesh.files.repo_paths import REPO_ROOT
from services.common.options import TELEMETRY_OFF_ENV, TELEMETRY_PARTS

FOUR = ("recommend", "candidates", "features", "ranking")
ALL_ON = "all on"
#: Label -> the parts switched off (the value of --telemetry-off).
CONFIGURATIONS: tuple[tuple[str, str], ...] = (
    (ALL_ON, ""),
    ("spans off", "spans"),
    ("span export off", "span_export"),
    ("metrics off", "metrics"),
    ("logs off", "logs"),
    ("impression log off", "impressions"),
    ("all off", ",".join(TELEMETRY_PARTS)),
    (ALL_ON, ""),
)
#: The smoke run: everything switched off at once, between two runs with all on.
SMOKE_CONFIGURATIONS = (CONFIGURATIONS[0], CONFIGURATIONS[-2], CONFIGURATIONS[-1])


def written(layout: MeshLayout) -> dict[str, int]:
    """The sizes of what telemetry writes: the span file, the impression log, and the
    four services' logs (their standard error)."""

    def size(path: Path) -> int:
        return path.stat().st_size if path.exists() else 0

    return {
        "span_file": size(layout.span_file),
        "impressions": size(layout.impressions),
        "service_logs": sum(size(layout.logs / f"{s}.log") for s in FOUR),
    }


def start_mesh(layout: MeshLayout, off: str) -> LocalMesh:
    """The mesh on `layout`'s state, its serving processes with `off` switched off."""
    os.environ[TELEMETRY_OFF_ENV] = off
    mesh = LocalMesh(layout, free_ports())
    mesh.start()
    return mesh


def measure(mesh: LocalMesh, rate: float, duration: float, users: list[str]) -> dict[str, Any]:
    assert mesh.supervisor is not None
    pids = {s: mesh.supervisor.pid_of(s) for s in FOUR}
    target = f"127.0.0.1:{mesh.ports.recommend}"
    load = [*LOADGEN, "--target", target, "--rate", str(rate), "--users", ",".join(users)]
    run_json([*load, "--duration", str(min(duration, 3.0))])  # warm-up, not counted
    before = {s: cpu_seconds(pid) for s, pid in pids.items()}
    result = run_json([*load, "--duration", str(duration)])
    answered = max(result["answered"], 1)
    by_service = {s: 1000 * (cpu_seconds(pid) - before[s]) / answered for s, pid in pids.items()}
    result["cpu_ms_per_request_by_service"] = by_service
    result["cpu_ms_per_request"] = sum(by_service.values())
    return result


def differences(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each configuration's CPU per request minus all on's (the mean of the all-on runs),
    and the all-on runs' spread."""
    all_on = [r["cpu_ms_per_request"] for r in runs if r["label"] == ALL_ON]
    baseline = sum(all_on) / len(all_on)
    return {
        "all_on_cpu_ms_per_request": baseline,
        "all_on_spread_ms": max(all_on) - min(all_on),
        "vs_all_on_ms": {
            r["label"]: r["cpu_ms_per_request"] - baseline for r in runs if r["label"] != ALL_ON
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.telemetry_cost", description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--smoke", action="store_true", help="short runs, no files written")
    args = parser.parse_args()
    rate = 50.0 if args.smoke else args.rate
    duration = 1.0 if args.smoke else args.duration
    load_at_start = os.getloadavg()[0]
    started = time.monotonic()
    state = Path(tempfile.mkdtemp(prefix="recmesh-telemetry-"))
    cache = REPO_ROOT / "var" / "data" / "ml-100k"
    if cache.is_dir():
        shutil.copytree(cache, state / "data" / "ml-100k")
    layout = MeshLayout(state)
    switch_before = os.environ.get(TELEMETRY_OFF_ENV)
    runs: list[dict[str, Any]] = []
    try:
        mesh = start_mesh(layout, "")
        try:
            if args.smoke:
                pointer = current_pointer(layout, mesh.ports)
            else:
                print("training, evaluating and promoting the default champion ...", flush=True)
                pointer = promote_default_champion(layout, mesh.ports)
        finally:
            mesh.stop()
        dataset = load_ml100k(state / "data" / "ml-100k")
        users = [str(u) for u in np.unique(dataset.interactions.users)[:300]]
        for label, off in SMOKE_CONFIGURATIONS if args.smoke else CONFIGURATIONS:
            sizes_before = written(layout)
            mesh = start_mesh(layout, off)
            try:
                wait_until_serving(f"127.0.0.1:{mesh.ports.recommend}", pointer)
                result = {"label": label, "off": off, **measure(mesh, rate, duration, users)}
            finally:
                mesh.stop()  # flushes the spans
            sizes_after = written(layout)
            result["bytes_written"] = {k: sizes_after[k] - sizes_before[k] for k in sizes_after}
            runs.append(result)
            print(
                f"{label:>18}: CPU {result['cpu_ms_per_request']:.2f} ms/request ("
                + ", ".join(
                    f"{s} {v:.2f}" for s, v in result["cpu_ms_per_request_by_service"].items()
                )
                + f"), p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
                f"achieved {result['achieved_rps']:.0f} rps, degraded "
                f"{sum(result['degraded'].values())}, errors {sum(result['errors'].values())}; "
                "bytes written (from start to stop): "
                + ", ".join(f"{k} {v}" for k, v in result["bytes_written"].items()),
                flush=True,
            )
    finally:
        if switch_before is None:
            os.environ.pop(TELEMETRY_OFF_ENV, None)
        else:
            os.environ[TELEMETRY_OFF_ENV] = switch_before
        shutil.rmtree(state, ignore_errors=True)
    summary = {
        "machine": machine(),
        "serving_version": pointer.version_id,
        "rate_rps": rate,
        "duration_s": duration,
        "load_average_at_start": load_at_start,
        "runs": runs,
        **differences(runs),
    }
    print(
        f"all on: {summary['all_on_cpu_ms_per_request']:.2f} ms/request (spread "
        f"{summary['all_on_spread_ms']:.2f} ms between the first and last run); vs all on: "
        + ", ".join(f"{k} {v:+.2f} ms" for k, v in summary["vs_all_on_ms"].items())
        + f"; took {time.monotonic() - started:.0f} s"
    )
    if not args.smoke:
        publish("telemetry_cost", summary, markdown)
    return 0


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        "## What telemetry costs (`python -m bench.telemetry_cost`)",
        "",
        f"{m['date']}, {m['cores']} cores, {m['cpu_model']}; the default champion "
        f"{result['serving_version']}, open loop at {result['rate_rps']:.0f} rps, "
        f"{result['duration_s']} s per configuration, the mesh restarted between them with "
        "the serving processes' `--telemetry-off` switches; load average "
        f"{result['load_average_at_start']:.1f} when it started. CPU per answered Recommend, "
        "summed over the four services; all on is the mean of the first and last run "
        f"(they differ by {result['all_on_spread_ms']:.2f} ms: smaller differences are noise).",
        "",
        "| configuration | CPU ms/request | vs all on ms | recommend | candidates | features "
        "| ranking | p50 ms | p99 ms | degraded | errors | KB written: spans, impressions, logs |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in result["runs"]:
        diff = result["vs_all_on_ms"].get(r["label"])
        by = r["cpu_ms_per_request_by_service"]
        lines.append(
            f"| {r['label']} | {r['cpu_ms_per_request']:.2f} | "
            f"{'-' if diff is None else f'{diff:+.2f}'} | "
            + " | ".join(f"{by[s]:.2f}" for s in FOUR)
            + f" | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {sum(r['degraded'].values())} "
            f"| {sum(r['errors'].values())} | "
            + ", ".join(f"{v / 1024:.0f}" for v in r["bytes_written"].values())
            + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
