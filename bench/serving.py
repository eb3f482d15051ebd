"""Serving latency and throughput of the whole mesh, with its floor and its overhead.

    python -m bench.serving [--rates 50,100,200,400,800] [--duration 10] [--smoke]
    python -m bench.serving --against REV [--rates 50,100,200,300,400] [--duration 10]
        [--smoke] [--no-against-cache]

With --against, this tree's mesh against revision REV's, alternating, with the
floors of the same run: bench/against.py says what it does.

1. Starts the local mesh (etcd, control plane, four services as separate
   processes) in a temporary state dir on free ports, trains the default
   champion (`recmesh experiment run experiments/xgb-challenger.yaml`), has it
   approved and promoted through the control plane (bench/champion.py). The
   smoke run measures the baseline version instead (no training).
2. For each offered rate, runs the open-loop load generator (bench/loadgen.py)
   in its own process over real user ids, k=10, 500 candidates, and reads
   each server's CPU time from /proc before and after.
3. The floor: one grpc.aio hop (bench/echo.py) at 200 requests/s, with the echo
   server's CPU per call, and one call at a time back to back and after 15 ms
   idle; the mesh single-stream (one request at a time), and where its time goes
   (bench/span_breakdown.py, from the mesh's span file).
4. The in-process pipeline: candidates -> features -> XGBoost -> top k in
   this process, no RPC, over the same users: back to back, and paced like the
   targets' 200 requests/s (5 ms asleep before each request), with each part.
Writes docs/results/serving.json and the `serving` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.champion import ServingPointer, current_pointer, promote_default_champion
from bench.latency import percentiles_ms
from bench.report import machine, publish
from bench.span_breakdown import breakdown
from local_mesh.layout import MeshLayout, MeshPorts
from local_mesh.local_mesh import LocalMesh
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.core.candidates.pipeline import build_candidate_pipeline
from recmesh.core.features.pipeline import build_feature_pipeline
from recmesh.core.ranking.model import top_k_positions
from recmesh.core.version_checks import load_checked_version
from recmesh.data.loaders import load_ml100k
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port, free_loopback_ports

SERVICES = ("recommend", "candidates", "features", "ranking", "control_plane")
CLK_TCK = 100
AGAINST_RATES = "50,100,200,300,400"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def run_json(argv: list[str]) -> dict[str, Any]:
    output = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=REPO_ROOT)
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


LOADGEN = [sys.executable, "-m", "bench.loadgen"]


def wait_until_serving(target: str, pointer: ServingPointer, timeout: float = 60.0) -> None:
    """Until the front answers with the pointer's version."""
    deadline = time.monotonic() + timeout
    while True:
        probe = run_json(
            [*LOADGEN, "--target", target, "--rate", "20", "--duration", "0.5", "--users", "196"]
        )
        if pointer.version_id in probe["serving_versions"]:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the front did not answer with {pointer.version_id} in time")


def free_ports() -> MeshPorts:
    return MeshPorts(*free_loopback_ports(7))


TARGET_RATE_GAP_S = 1 / 200  # the time between requests at the targets' 200 requests/s


def in_process_pipeline(
    store: LocalArtifactStore,
    manifest_sha: str,
    users: list[str],
    rounds: int,
    pause_s: float = 0.0,
) -> dict[str, Any]:
    """candidates -> features -> XGBoost -> top k in this process, no RPC: p50/p99 of the
    whole and p50 of each part. With pause_s the process sleeps that long before each
    request, as each service of the mesh does between requests at a given rate; the
    first round (warm-up) is not counted."""
    _, snapshot, model = load_checked_version(store, manifest_sha)
    candidates = build_candidate_pipeline(snapshot)
    features = build_feature_pipeline(snapshot)
    totals: list[float] = []
    parts: dict[str, list[float]] = {"candidates": [], "features": [], "scoring": []}
    for round_index in range(rounds):
        for user in users:
            if pause_s > 0:
                time.sleep(pause_s)
            start = time.perf_counter()
            found = candidates.generate(user, 500)
            found_at = time.perf_counter()
            matrix = features.compute(
                user, found.item_indices, found.source_indices, found.source_scores, found.sources
            )
            features_at = time.perf_counter()
            if model is not None:  # the baseline (smoke run) has no model to score with
                top_k_positions(model.score(matrix), 10)
            end = time.perf_counter()
            if round_index == 0 and rounds > 1:
                continue
            totals.append(end - start)
            parts["candidates"].append(found_at - start)
            parts["features"].append(features_at - found_at)
            parts["scoring"].append(end - features_at)
    return {
        **percentiles_ms(totals),
        "pause_ms": pause_s * 1000,
        "parts_p50_ms": {name: percentiles_ms(v)["p50_ms"] for name, v in parts.items()},
    }


IDLE_GAP_S = 0.015  # about how long each service idles between single-stream requests
CLOSED_CALLS = 300


def floor(duration: float) -> dict[str, Any]:
    """One grpc.aio hop at 200 requests/s, open loop, and the echo server's CPU per call;
    then one call at a time, back to back (`hot`) and after IDLE_GAP_S idle (`idle`)."""
    port = free_loopback_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.echo", "serve", str(port)], cwd=REPO_ROOT
    )
    try:
        time.sleep(1.0)
        before = cpu_seconds(server.pid)
        result = run_json(
            [sys.executable, "-m", "bench.echo", "drive", f"127.0.0.1:{port}", "200", str(duration)]
        )
        calls = max(int(200 * duration), 1)
        result["server_cpu_ms_per_call"] = 1000 * (cpu_seconds(server.pid) - before) / calls
        echo_closed = [sys.executable, "-m", "bench.echo", "closed", f"127.0.0.1:{port}"]
        calls_closed = str(30 if duration < 2 else CLOSED_CALLS)
        result["hot"] = run_json([*echo_closed, "0", calls_closed])
        result["idle"] = run_json([*echo_closed, str(IDLE_GAP_S), calls_closed])
        return result
    finally:
        server.terminate()
        server.wait(10)


BREAKDOWN_ROWS = (
    "caller -> recommend hop",
    "recommend own work",
    "recommend -> candidates hop",
    "candidates server span",
    "recommend -> ranking hop",
    "ranking own work",
    "ranking -> features hop",
    "features server span",
)


def single_stream_breakdown(
    span_file: Path, since_ns: int, until_ns: int, caller_p50_ms: float
) -> dict[str, float]:
    """bench/span_breakdown.py's parts plus the caller's own hop into the front."""
    parts = breakdown(span_file, since_ns, until_ns)
    if parts:
        parts["caller -> recommend hop"] = caller_p50_ms - parts["recommend server span"]
    return parts


def _parts(pipeline: dict[str, Any]) -> str:
    return ", ".join(f"{name} {ms:.2f}" for name, ms in pipeline["parts_p50_ms"].items())


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        "## Serving (`make bench-serving`, `python -m bench.serving`)",
        "",
        f"{m['date']}, {m['cores']} cores, {m['cpu_model']}; load generator on the same "
        f"machine, open loop, k=10 over 500 candidates, the default champion "
        f"{result['serving_version']} (trained by `recmesh experiment run "
        f"experiments/xgb-challenger.yaml`, approved and promoted through the control "
        f"plane), {result['duration_s']} s per rate; load average "
        f"{result['load_average_at_start']:.1f} when it started (anything above ~0.2 means "
        "other work shared the two cores).",
        "",
        "| offered rps | achieved rps | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors "
        "| degraded | CPU ms/request (recommend, candidates, features, ranking) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for r in result["rates"]:
        cpu = ", ".join(f"{r['cpu_ms_per_request'][s]:.2f}" for s in SERVICES[:4])
        lines.append(
            f"| {r['offered_rps']:.0f} | {r['achieved_rps']:.0f} | {r['p50_ms']:.2f} | "
            f"{r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['p999_ms']:.2f} | {r['max_ms']:.1f} | "
            f"{sum(r['errors'].values())} | {sum(r['degraded'].values())} | {cpu} |"
        )
    f, p, single = result["floor"], result["in_process"], result["single_stream"]
    paced = result["in_process_paced"]
    lines += [
        "",
        f"- Highest offered rate with p99 under 20 ms: **{result['max_rate_p99_under_20ms']}**.",
        f"- Floor (one grpc.aio hop, 200 rps): p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms; "
        f"the echo server spends {f['server_cpu_ms_per_call']:.2f} ms of CPU per call.",
        f"- One hop, one call at a time: p50 {f['hot']['p50_ms']:.2f} ms back to back, "
        f"{f['idle']['p50_ms']:.2f} ms after {f['idle']['gap_ms']:.0f} ms idle (what each hop "
        "of a single-stream Recommend meets).",
        f"- Mesh single stream (one request at a time): p50 "
        f"{single['p50_ms']:.2f} ms, p99 {single['p99_ms']:.2f} ms. Four idle hops plus the "
        f"in-process work come to {4 * f['idle']['p50_ms'] + p['p50_ms']:.2f} ms "
        f"(x{single['p50_ms'] / (4 * f['idle']['p50_ms'] + p['p50_ms']):.2f}).",
        f"- In-process pipeline (no RPC): p50 {p['p50_ms']:.2f} ms, p99 {p['p99_ms']:.2f} ms "
        f"back to back ({_parts(p)}); with {paced['pause_ms']:.0f} ms asleep before each "
        f"request, the gap between requests at 200 rps: p50 {paced['p50_ms']:.2f} ms, "
        f"p99 {paced['p99_ms']:.2f} ms ({_parts(paced)}).",
        f"- Mesh at 200 rps vs floor: p50 x{result['ratios']['p50_vs_floor']:.1f}, "
        f"p99 x{result['ratios']['p99_vs_floor']:.1f}; vs in-process pipeline: "
        f"p50 x{result['ratios']['p50_vs_in_process']:.1f}, "
        f"p99 x{result['ratios']['p99_vs_in_process']:.1f}.",
        "- Targets: p50 <= 5 ms and p99 <= 9 ms at 200 rps; >= 500 rps with p99 < 20 ms; "
        "mesh p50 within 1.5x of the in-process pipeline.",
    ]
    parts = single.get("breakdown") or {}
    if parts:
        lines += [
            "",
            "Where a single-stream Recommend spends its time (p50 ms of each part, from the "
            "mesh's spans; a hop is its client span minus its server span):",
            "",
            "| part | p50 ms |",
            "| --- | ---: |",
            *(f"| {name} | {parts[name]:.2f} |" for name in BREAKDOWN_ROWS if name in parts),
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__)
    parser.add_argument("--rates", default=None, help="default 50,100,200,400,800")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--smoke", action="store_true", help="one short rate, no files written")
    parser.add_argument(
        "--against",
        metavar="REV",
        help=f"compare with revision REV's mesh (bench/against.py); rates default {AGAINST_RATES}",
    )
    parser.add_argument(
        "--no-against-cache",
        action="store_true",
        help="build REV in a temporary directory, removed at the end, instead of reusing "
        "~/.cache/recmesh-bench/<hash>/",
    )
    args = parser.parse_args()
    if args.against:
        from bench import against

        rates_text = args.rates or AGAINST_RATES
        return against.main(
            args.against,
            [50.0] if args.smoke else [float(r) for r in rates_text.split(",")],
            1.0 if args.smoke else args.duration,
            args.smoke,
            cache=not args.no_against_cache,
        )
    args.rates = args.rates or "50,100,200,400,800"
    rates = [50.0] if args.smoke else [float(r) for r in args.rates.split(",")]
    duration = 1.0 if args.smoke else args.duration
    load_at_start = os.getloadavg()[0]
    state = Path(tempfile.mkdtemp(prefix="recmesh-bench-"))
    cache = REPO_ROOT / "var" / "data" / "ml-100k"
    if cache.is_dir():
        shutil.copytree(cache, state / "data" / "ml-100k")
    layout = MeshLayout(state)
    mesh = LocalMesh(layout, free_ports())
    try:
        mesh.start()
        try:
            dataset = load_ml100k(state / "data" / "ml-100k")
            store = LocalArtifactStore(layout.artifacts)
            if args.smoke:
                pointer = current_pointer(layout, mesh.ports)
            else:
                print("training, evaluating and promoting the default champion ...", flush=True)
                pointer = promote_default_champion(layout, mesh.ports)
            assert mesh.supervisor is not None
            target = f"127.0.0.1:{mesh.ports.recommend}"
            users = [str(u) for u in np.unique(dataset.interactions.users)[:300]]
            wait_until_serving(target, pointer)
            single_started_ns = time.time_ns()
            single_stream = run_json(
                [
                    *LOADGEN,
                    "--target",
                    target,
                    "--closed",
                    "--duration",
                    str(duration),
                    "--users",
                    ",".join(users),
                ]
            )
            single_ended_ns = time.time_ns()
            print(
                f"single stream: p50 {single_stream['p50_ms']:.2f} ms, "
                f"p99 {single_stream['p99_ms']:.2f} ms",
                flush=True,
            )
            results = []
            for rate in rates:
                pids = {s: mesh.supervisor.pid_of(s) for s in SERVICES}
                before = {s: cpu_seconds(pid) for s, pid in pids.items()}
                result = run_json(
                    [
                        *LOADGEN,
                        "--target",
                        target,
                        "--rate",
                        str(rate),
                        "--duration",
                        str(duration),
                        "--users",
                        ",".join(users),
                    ]
                )
                answered = max(result["answered"], 1)
                result["cpu_ms_per_request"] = {
                    s: 1000 * (cpu_seconds(pid) - before[s]) / answered for s, pid in pids.items()
                }
                results.append(result)
                print(
                    f"{rate:6.0f} rps offered: achieved {result['achieved_rps']:.0f}, "
                    f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
                    f"errors {sum(result['errors'].values())}, "
                    f"degraded {sum(result['degraded'].values())}; CPU ms/request: "
                    + ", ".join(f"{n} {v:.2f}" for n, v in result["cpu_ms_per_request"].items()),
                    flush=True,
                )
            floor_result = floor(duration)
            in_process = in_process_pipeline(
                store, pointer.manifest_sha256, users[:100], 1 if args.smoke else 5
            )
            in_process_paced = in_process_pipeline(
                store,
                pointer.manifest_sha256,
                users[:100],
                1 if args.smoke else 3,
                TARGET_RATE_GAP_S,
            )
        finally:
            mesh.stop()  # also flushes every server's spans to the span file
        single_stream["breakdown"] = single_stream_breakdown(
            layout.span_file, single_started_ns, single_ended_ns, single_stream["p50_ms"]
        )
    finally:
        shutil.rmtree(state, ignore_errors=True)
    at_200 = next((r for r in results if r["offered_rps"] == 200), results[0])
    passing = [r["offered_rps"] for r in results if r["p99_ms"] < 20 and not r["errors"]]
    summary = {
        "machine": machine(),
        "serving_version": pointer.version_id,
        "single_stream": single_stream,
        "duration_s": duration,
        "load_average_at_start": load_at_start,
        "rates": results,
        "floor": floor_result,
        "in_process": in_process,
        "in_process_paced": in_process_paced,
        "max_rate_p99_under_20ms": max(passing) if passing else None,
        "ratios": {
            "p50_vs_floor": at_200["p50_ms"] / floor_result["p50_ms"],
            "p99_vs_floor": at_200["p99_ms"] / floor_result["p99_ms"],
            "p50_vs_in_process": at_200["p50_ms"] / in_process["p50_ms"],
            "p99_vs_in_process": at_200["p99_ms"] / in_process["p99_ms"],
        },
    }
    print(
        f"floor p50 {floor_result['p50_ms']:.2f} ms; in-process p50 "
        f"{in_process['p50_ms']:.2f} ms; max rate with p99 < 20 ms: "
        f"{summary['max_rate_p99_under_20ms']}"
    )
    if not args.smoke:
        publish("serving", summary, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
