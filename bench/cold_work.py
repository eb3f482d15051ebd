"""How much slower the same CPU work runs when the process has been away from it.

    python -m bench.cold_work [--calls 200] [--pauses 0,0.5,2,5,15] [--smoke]

One process, no RPC, no threads of ours: an XGBoost booster shaped like the default
champion (154 trees of depth 6 over 45 features, trained here on random data)
scores 500 rows, `--calls` times, with a pause before each call. The pause is
either a sleep (the process leaves the CPU, as a service does between requests)
or a busy wait (the process keeps the CPU, spinning on the clock). Each cell is
the p50 of one scoring call, in ms.

If only gRPC's thread wake-ups made an idle hop slow, the scoring would take the
same time whatever came before it. It does not: the same call takes longer the
longer the pause (here about a third longer after 5 ms), and keeping the CPU busy
does not help: the machine loses the process's cached state over time, whether
the process sleeps or not. Every stage of the mesh meets this at 200 requests/s (one
request every 5 ms); see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import xgboost as xgb

from bench.latency import percentiles_ms
from bench.report import machine, ms_grid, publish

TREES, DEPTH, FEATURES, ROWS = 154, 6, 45, 500
MODES: dict[str, str] = {
    "sleep": "sleeps (leaves the CPU)",
    "spin": "busy-waits (keeps the CPU)",
}


def champion_shaped_booster(trees: int) -> xgb.Booster:
    """A booster with the default champion's shape, trained on random data."""
    rng = np.random.default_rng(7)
    features = rng.normal(size=(20_000, FEATURES)).astype(np.float32)
    labels = (features[:, :5].sum(axis=1) + rng.normal(size=20_000) > 0).astype(np.float32)
    booster = xgb.train(
        {"max_depth": DEPTH, "eta": 0.1, "objective": "binary:logistic", "nthread": 1},
        xgb.DMatrix(features, label=labels),
        num_boost_round=trees,
    )
    booster.set_param({"nthread": 1})  # as serving runs it
    return booster


def pause(mode: str, seconds: float) -> None:
    if seconds <= 0:
        return
    if mode == "sleep":
        time.sleep(seconds)
        return
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


BLOCK = 10  # calls per cell in each round; rounds interleave the cells


def timed_cells(
    call: Callable[[], object], cells: list[tuple[str, float]], calls: int
) -> dict[tuple[str, float], float]:
    """p50 ms of `call` after each (mode, pause_s) cell. The cells take turns, BLOCK
    calls at a time, so that the machine's drift (large on a shared VM) falls on every
    cell alike instead of on whichever ran last."""
    for _ in range(10):
        call()
    samples: dict[tuple[str, float], list[float]] = {cell: [] for cell in cells}
    for _ in range(max(calls // BLOCK, 1)):
        for mode, pause_s in cells:
            for _ in range(BLOCK):
                pause(mode, pause_s)
                started = time.perf_counter()
                call()
                samples[(mode, pause_s)].append(time.perf_counter() - started)
    return {cell: percentiles_ms(values)["p50_ms"] for cell, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_work", description=__doc__)
    parser.add_argument("--calls", type=int, default=200, help="calls per cell")
    parser.add_argument("--pauses", default="0,0.5,2,5,15", help="ms before each call")
    parser.add_argument("--smoke", action="store_true", help="a small model, no files written")
    args = parser.parse_args()
    pauses_ms = [float(p) for p in args.pauses.split(",")]
    load_at_start = os.getloadavg()[0]
    booster = champion_shaped_booster(10 if args.smoke else TREES)
    rows = np.ascontiguousarray(
        np.random.default_rng(0).normal(size=(ROWS, FEATURES)), dtype=np.float32
    )

    def score() -> object:
        return booster.inplace_predict(rows, validate_features=False)

    print("pause mode  " + "".join(f"  {p:6g} ms" for p in pauses_ms) + "   (p50 ms of scoring)")
    cells = [(mode, p / 1000) for mode in MODES for p in pauses_ms]
    p50 = timed_cells(score, cells, args.calls)
    table = {mode: {f"{p:g}": p50[(mode, p / 1000)] for p in pauses_ms} for mode in MODES}
    for mode, row in table.items():
        print(f"{mode:<11}" + "".join(f"  {v:9.3f}" for v in row.values()), flush=True)
    if not args.smoke:
        summary = {
            "machine": machine(),
            "calls": args.calls,
            "model": {"trees": TREES, "max_depth": DEPTH, "features": FEATURES, "rows": ROWS},
            "load_average_at_start": load_at_start,
            "p50_ms_by_pause_ms": table,
        }
        publish("cold_work", summary, markdown)
    return 0


def markdown(result: dict[str, Any]) -> str:
    m, table, model = result["machine"], result["p50_ms_by_pause_ms"], result["model"]
    return "\n".join(
        [
            "## The same work, hot or after a pause (`python -m bench.cold_work`)",
            "",
            f"{m['date']}, {m['cores']} cores, {m['cpu_model']}; one process, no RPC: "
            f"XGBoost ({model['trees']} trees of depth {model['max_depth']}, "
            f"{model['features']} features, `nthread=1`) scores {model['rows']} rows, "
            f"{result['calls']} calls, each after the given pause; p50 ms of one call. "
            f"Load average {result['load_average_at_start']:.1f} when it started.",
            "",
            *ms_grid("before each call the process", "pause", table, MODES),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
