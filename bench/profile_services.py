"""Where each service's CPU goes under load: py-spy samples of the four services.

    python -m bench.profile_services [--rate 200] [--duration 20] [--smoke]
        [--py-spy PATH] [--out docs/results/profile]

Starts this tree's mesh with its trained champion (bench/mesh_host.py, as
bench.serving --against does), drives it open loop at --rate with bench/loadgen.py,
and meanwhile samples each service's process with py-spy (`--nonblocking`, so the
sampler never pauses the service; ~100 samples a second). py-spy is a profiler, not
a dependency of the project: give its path with --py-spy or put it on PATH
(`pip install py-spy==0.4.3` in any environment).

Prints, per service, its CPU per answered Recommend (from /proc) and the share of
its samples spent inside each layer (gRPC and protobuf, telemetry, logging, asyncio,
XGBoost and numpy, this project's own code), counted on the innermost frame of each
sample that belongs to a named layer, and its hottest functions by own time.
Writes the collapsed stacks (flamegraph.pl input) and the summary under --out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.against import FOUR, HostedMesh, run_rate
from bench.serving import wait_until_serving
from recmesh.data.loaders import load_ml100k
from recmesh.files.repo_paths import REPO_ROOT

#: Layers a frame belongs to, by the path of its file (first match wins); py-spy names
#: a frame `function (path:line)` with the path relative to its sys.path entry.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("telemetry", ("opentelemetry/", "recmesh/telemetry/")),
    ("logging", ("structlog/", "logging/", "recmesh/logs")),
    ("grpc+protobuf", ("grpc/", "grpc_", "google/protobuf/", "recmesh/api/", "cygrpc")),
    ("xgboost+numpy", ("xgboost/", "numpy/", "libxgboost", "_multiarray")),
    ("asyncio", ("asyncio/", "selectors.py", "_asyncio")),
    ("recmesh", ("recmesh/", "services/", "control_plane/", "local_mesh/", "cli/")),
)


def layer_of(frame: str) -> str | None:
    """The layer of one collapsed frame `function (path:line)`, or None (stdlib, ...)."""
    path = frame.rpartition(" (")[2]
    for name, markers in LAYERS:
        if any(path.startswith(m) or f"/{m}" in path for m in markers):
            return name
    return None


#: Innermost frames of a thread waiting, not working: the event loop in epoll, and
#: the threads (gRPC's poller, the span exporter) parked in C under Thread.run.
IDLE = ("EpollSelector.select (", "Thread.run (", "Condition.wait (", "epoll_wait (")
#: A C callback the event loop runs (innermost frame Handle._run): in these processes
#: that is gRPC's completion-queue handling (cygrpc), so it counts as gRPC.
C_CALLBACK = "Handle._run ("


def summarize(collapsed: Path, top: int = 15) -> dict[str, Any]:
    """Shares of the working samples (idle waits left out) by layer (innermost named
    frame) and the hottest functions by own time (innermost frame), from py-spy's raw
    (collapsed) output."""
    layers: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = idle = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[-1].startswith(IDLE):
            idle += count
            continue
        total += count
        own[frames[-1]] += count
        if frames[-1].startswith(C_CALLBACK):
            layers["grpc+protobuf"] += count
            continue
        named = next((layer_of(f) for f in reversed(frames) if layer_of(f)), None)
        layers[named or "other"] += count
    return {
        "samples": total,
        "idle_samples": idle,
        "layers": {name: count / max(total, 1) for name, count in layers.most_common()},
        "hottest": [(frame, count / max(total, 1)) for frame, count in own.most_common(top)],
    }


def profile(
    py_spy: str, rate: float, duration: float, out: Path, train: bool, native: bool
) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="recmesh-profile-"))
    mesh = HostedMesh.start("this", Path(sys.executable), REPO_ROOT, state, train)
    try:
        dataset = load_ml100k(state / "data" / "ml-100k")
        users = [str(u) for u in np.unique(dataset.interactions.users)[:300]]
        wait_until_serving(mesh.target, mesh.pointer)
        run_rate(mesh, rate, min(duration, 3.0), users)  # warm up
        out.mkdir(parents=True, exist_ok=True)
        samplers = {
            service: subprocess.Popen(
                [
                    py_spy,
                    "record",
                    *(["--native"] if native else ["--nonblocking"]),
                    "--rate",
                    "100",
                    "--format",
                    "raw",
                    "--duration",
                    str(int(duration)),
                    "--pid",
                    str(mesh.pids[service]),
                    "--output",
                    str(out / f"{service}.collapsed"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for service in FOUR
        }
        result = run_rate(mesh, rate, duration, users)
        for sampler in samplers.values():
            sampler.wait(duration + 30)
    finally:
        mesh.stop()
        shutil.rmtree(state, ignore_errors=True)
    services = {
        service: {
            "cpu_ms_per_request": result["cpu_ms_per_request_by_service"][service],
            **summarize(out / f"{service}.collapsed"),
        }
        for service in FOUR
    }
    summary = {
        "rate": rate,
        "duration_s": duration,
        "p50_ms": result["p50_ms"],
        "cpu_ms_per_request": result["cpu_ms_per_request"],
        "services": services,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def print_summary(summary: dict[str, Any]) -> None:
    print(
        f"\n{summary['rate']:.0f} requests/s for {summary['duration_s']:.0f} s: "
        f"p50 {summary['p50_ms']:.2f} ms, CPU {summary['cpu_ms_per_request']:.2f} ms per Recommend"
    )
    for service, figures in summary["services"].items():
        cpu = figures["cpu_ms_per_request"]
        shares = ", ".join(
            f"{name} {share * 100:.0f}% ({share * cpu:.2f} ms)"
            for name, share in figures["layers"].items()
        )
        print(f"\n{service}: {cpu:.2f} ms per Recommend, {figures['samples']} samples\n  {shares}")
        for frame, share in figures["hottest"][:10]:
            print(f"  {share * 100:5.1f}%  {frame}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_services", description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--smoke", action="store_true", help="baseline version, 3 s")
    parser.add_argument("--py-spy", default=shutil.which("py-spy"))
    parser.add_argument(
        "--native",
        action="store_true",
        help="native frames too (py-spy then pauses each process briefly per sample)",
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "results" / "profile")
    args = parser.parse_args(argv)
    if not args.py_spy:
        parser.error("py-spy not found: give --py-spy PATH (pip install py-spy==0.4.3)")
    duration = 3.0 if args.smoke else args.duration
    print_summary(profile(args.py_spy, args.rate, duration, args.out, not args.smoke, args.native))
    return 0


if __name__ == "__main__":
    sys.exit(main())
