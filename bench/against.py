"""The mesh of this tree against an earlier revision's, on the same machine in the same run.

    python -m bench.serving --against 93be914 [--rates 50,100,200,300,400] [--duration 10]
        [--smoke] [--no-against-cache]

1. Builds the earlier revision (bench/worktree.py: a git worktree and its own
   virtualenv, cached under ~/.cache/recmesh-bench/<hash>/).
2. Starts both meshes, each with its own code, CLI and champion (bench/mesh_host.py
   run by that revision's python in its tree; each trains and promotes its default
   champion its own way; the smoke run keeps the baseline versions), on distinct free
   ports and state directories. This tree's mesh is the work tree as it is
   (uncommitted changes included: `current` in the JSON says `-dirty` then).
3. Single stream (one request at a time) through each.
4. For each offered rate: the same open-loop load (bench/loadgen.py, this tree's, over
   the same users, k=10) against the old mesh, then the current one; for each, the
   four services' CPU from /proc before and after (CPU per answered Recommend summed
   over recommend, candidates, features and ranking), p50/p99, achieved rate, the
   degraded and error shares, and the load generator's own CPU per request.
5. The floors of the same run: the bare four-process chain (bench/chain.py) single
   stream and at each rate, and the in-process pipeline (bench/serving.py) back to
   back and paced, over the current champion.

Prints each figure of both and their ratio (new/old) per rate; the highest offered
rate each mesh held (p99 <= 50 ms, <= 1 % degraded, <= 1 % errors) and their ratio;
each mesh's single-stream p50 against the floor sum (bare chain single stream +
paced in-process pipeline). Writes docs/results/serving_against.json and the
`serving-against` section of docs/benchmarks.md (not in smoke runs).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import chain, mesh_host
from bench.champion import ServingPointer
from bench.report import machine, write_json, write_section
from bench.serving import (
    LOADGEN,
    TARGET_RATE_GAP_S,
    cpu_seconds,
    in_process_pipeline,
    run_json,
    wait_until_serving,
)
from bench.worktree import BuiltRevision, built_revision
from local_mesh.layout import MeshLayout
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.data.loaders import load_ml100k
from recmesh.files.repo_paths import REPO_ROOT

FOUR = ("recommend", "candidates", "features", "ranking")
HELD_P99_MS = 50.0
HELD_DEGRADED_SHARE = 0.01
HELD_ERROR_SHARE = 0.01
#: The figures compared per rate (new / old).
FIGURES = (
    "achieved_rps",
    "p50_ms",
    "p99_ms",
    "cpu_ms_per_request",
    "degraded_share",
    "error_share",
    "loadgen_cpu_ms_per_request",
)
DATA_CACHE = REPO_ROOT / "var" / "data" / "ml-100k"


def ratio(new: float | None, old: float | None) -> float | None:
    """new / old; None when either is missing or not a number, or old is 0."""
    if new is None or old is None or math.isnan(new) or math.isnan(old) or old == 0:
        return None
    return new / old


def ratios(
    new: dict[str, Any], old: dict[str, Any], keys: Sequence[str] = FIGURES
) -> dict[str, float | None]:
    return {key: ratio(new.get(key), old.get(key)) for key in keys}


def shares(result: dict[str, Any]) -> dict[str, float]:
    """Degraded answers per answer and errors per request of one loadgen result."""
    answered, requests = result["answered"], max(result["requests"], 1)
    return {
        "degraded_share": sum(result["degraded"].values()) / answered if answered else 1.0,
        "error_share": sum(result["errors"].values()) / requests,
    }


def held(result: dict[str, Any]) -> bool:
    return bool(
        result["p99_ms"] <= HELD_P99_MS
        and result["degraded_share"] <= HELD_DEGRADED_SHARE
        and result["error_share"] <= HELD_ERROR_SHARE
    )


def highest_held(results: Sequence[dict[str, Any]]) -> float | None:
    """The highest offered rate of `results` that was held (see `held`)."""
    rates = [r["offered_rps"] for r in results if held(r)]
    return max(rates) if rates else None


def single_stream_summary(
    old_p50: float, new_p50: float, chain_p50: float, paced_p50: float
) -> dict[str, float | None]:
    """Each mesh's single-stream p50, the floor sum (the bare chain's single stream plus
    the paced in-process pipeline) and the ratios."""
    floor_sum = chain_p50 + paced_p50
    return {
        "old_p50_ms": old_p50,
        "new_p50_ms": new_p50,
        "floor_sum_ms": floor_sum,
        "new_vs_old": ratio(new_p50, old_p50),
        "old_vs_floor": ratio(old_p50, floor_sum),
        "new_vs_floor": ratio(new_p50, floor_sum),
    }


@dataclass
class HostedMesh:
    """A mesh run by bench/mesh_host.py in a process of its own."""

    label: str
    process: subprocess.Popen[str]
    target: str
    pids: dict[str, int]
    pointer: ServingPointer
    state: Path

    @classmethod
    def start(cls, label: str, python: Path, tree: Path, state: Path, train: bool) -> HostedMesh:
        source = Path(mesh_host.__file__).read_text()
        argv = [str(python), "-c", source, "--state", str(state), "--data-cache", str(DATA_CACHE)]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PYTHONPATH"] = str(tree)
        print(f"starting the {label} mesh ({tree}) ...", flush=True)
        process = subprocess.Popen(
            [*argv, *(["--train"] if train else [])],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(mesh_host.READY):
                ready = json.loads(line[len(mesh_host.READY) :])
                break
        else:
            process.wait(30)
            raise RuntimeError(f"the {label} mesh exited {process.returncode} before it was up")
        pointer = ServingPointer(ready["version_id"], ready["manifest_sha256"])
        print(f"{label} mesh up: {ready['recommend']}, serving {pointer.version_id}", flush=True)
        return cls(label, process, ready["recommend"], ready["pids"], pointer, state)

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def run_rate(
    mesh: HostedMesh, rate: float, duration: float, users: Sequence[str]
) -> dict[str, Any]:
    """One open-loop run against `mesh`, with the four services' CPU per answered call."""
    before = {s: cpu_seconds(mesh.pids[s]) for s in FOUR}
    result = run_json(
        [
            *LOADGEN,
            "--target",
            mesh.target,
            "--rate",
            str(rate),
            "--duration",
            str(duration),
            "--users",
            ",".join(users),
        ]
    )
    answered = max(result["answered"], 1)
    per_service = {s: 1000 * (cpu_seconds(mesh.pids[s]) - before[s]) / answered for s in FOUR}
    result["cpu_ms_per_request_by_service"] = per_service
    result["cpu_ms_per_request"] = sum(per_service.values())
    result.update(shares(result))
    return result


def single_stream(mesh: HostedMesh, duration: float, users: Sequence[str]) -> dict[str, Any]:
    return run_json(
        [
            *LOADGEN,
            "--target",
            mesh.target,
            "--closed",
            "--duration",
            str(duration),
            "--users",
            ",".join(users),
        ]
    )


def _line(label: str, r: dict[str, Any]) -> str:
    return (
        f"  {label}: achieved {r['achieved_rps']:.0f} rps, p50 {r['p50_ms']:.2f} ms, "
        f"p99 {r['p99_ms']:.2f} ms, CPU {r['cpu_ms_per_request']:.2f} ms/request "
        f"(4 services), degraded {100 * r['degraded_share']:.1f} %, errors "
        f"{100 * r['error_share']:.1f} %, load generator {r['loadgen_cpu_ms_per_request']:.2f} "
        "ms CPU/request"
    )


def _x(value: float | None) -> str:
    return "-" if value is None else f"x{value:.2f}"


def compare(
    old: HostedMesh, new: HostedMesh, rates: Sequence[float], duration: float, users: list[str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    singles = {}
    for mesh in (old, new):
        singles[mesh.label] = single_stream(mesh, duration, users)
        s = singles[mesh.label]
        print(f"{mesh.label} single stream: p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms")
    rows = []
    for rate in rates:
        row: dict[str, Any] = {"offered_rps": rate}
        print(f"{rate:.0f} rps offered:", flush=True)
        for mesh in (old, new):  # alternating, the old one first at every rate
            row[mesh.label] = run_rate(mesh, rate, duration, users)
            print(_line(mesh.label, row[mesh.label]), flush=True)
        row["new_vs_old"] = ratios(row["new"], row["old"])
        print(
            "  new/old: " + ", ".join(f"{k} {_x(v)}" for k, v in row["new_vs_old"].items()),
            flush=True,
        )
        rows.append(row)
    return singles, rows


def run(
    revision: str,
    rates: Sequence[float],
    duration: float,
    smoke: bool,
    cache: bool = True,
) -> dict[str, Any]:
    load_at_start = os.getloadavg()[0]
    current = subprocess.run(
        ["git", "describe", "--always", "--dirty", "--abbrev=12"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with built_revision(revision, cache=cache) as built:
        states = [Path(tempfile.mkdtemp(prefix=f"recmesh-against-{n}-")) for n in ("old", "new")]
        meshes: list[HostedMesh] = []
        try:
            meshes.append(_start(built, "old", states[0], not smoke))
            here = BuiltRevision(current, REPO_ROOT, Path(sys.executable))
            meshes.append(_start(here, "new", states[1], not smoke))
            old, new = meshes
            dataset = load_ml100k(new.state / "data" / "ml-100k")
            users = [str(u) for u in np.unique(dataset.interactions.users)[:300]]
            for mesh in meshes:
                wait_until_serving(mesh.target, mesh.pointer)
            singles, rows = compare(old, new, rates, duration, users)
            print("floors: the bare four-process chain ...", flush=True)
            bare = chain.measure("mesh", list(rates), duration)
            store = LocalArtifactStore(MeshLayout(new.state).artifacts)
            sha = new.pointer.manifest_sha256
            in_process = in_process_pipeline(store, sha, users[:100], 1 if smoke else 5)
            paced = in_process_pipeline(
                store, sha, users[:100], 1 if smoke else 3, TARGET_RATE_GAP_S
            )
            versions = {m.label: m.pointer.version_id for m in meshes}
        finally:
            for mesh in meshes:
                mesh.stop()
            for state in states:
                shutil.rmtree(state, ignore_errors=True)
    for row, bare_row in zip(rows, bare["rates"], strict=True):
        row["chain"] = bare_row
    held_old = highest_held([r["old"] for r in rows])
    held_new = highest_held([r["new"] for r in rows])
    summary = {
        "machine": machine(),
        "against": built.revision,
        "current": current,
        "serving_versions": versions,
        "duration_s": duration,
        "load_average_at_start": load_at_start,
        "single_stream": {"old": singles["old"], "new": singles["new"]},
        "rates": rows,
        "held": {"old": held_old, "new": held_new, "new_vs_old": ratio(held_new, held_old)},
        "floor": {
            "chain_single_stream": bare["single_stream"],
            "in_process": in_process,
            "in_process_paced": paced,
        },
        "single_stream_vs_floor": single_stream_summary(
            singles["old"]["p50_ms"],
            singles["new"]["p50_ms"],
            bare["single_stream"]["p50_ms"],
            paced["p50_ms"],
        ),
    }
    print_summary(summary)
    return summary


def _start(built: BuiltRevision, label: str, state: Path, train: bool) -> HostedMesh:
    return HostedMesh.start(label, built.python, built.tree, state, train)


def _rate(value: float | None) -> str:
    return "none" if value is None else f"{value:.0f} rps"


def print_summary(summary: dict[str, Any]) -> None:
    held_rates, single = summary["held"], summary["single_stream_vs_floor"]
    print(
        f"highest rate held (p99 <= {HELD_P99_MS:.0f} ms, <= 1 % degraded and errors): "
        f"old {_rate(held_rates['old'])}, new {_rate(held_rates['new'])} "
        f"({_x(held_rates['new_vs_old'])})"
    )
    print(
        f"single stream p50: old {single['old_p50_ms']:.2f} ms, new {single['new_p50_ms']:.2f} "
        f"ms ({_x(single['new_vs_old'])}); floor sum {single['floor_sum_ms']:.2f} ms "
        f"(bare chain + paced in-process): old {_x(single['old_vs_floor'])}, "
        f"new {_x(single['new_vs_floor'])}"
    )


def markdown(result: dict[str, Any]) -> str:
    m, single, held_rates = result["machine"], result["single_stream_vs_floor"], result["held"]
    floor = result["floor"]
    lines = [
        "## This mesh against an earlier revision (`python -m bench.serving --against REV`)",
        "",
        f"{m['date']}, {m['cores']} cores, {m['cpu_model']}; old = {result['against'][:7]} "
        f"serving {result['serving_versions']['old']}, new = {result['current']} serving "
        f"{result['serving_versions']['new']}, each its own default champion; the same "
        f"open-loop load (k=10) against each in turn, old first, {result['duration_s']} s "
        f"per rate and mesh; load average {result['load_average_at_start']:.1f} when it "
        "started. CPU is per answered Recommend, summed over the four services.",
        "",
        "| offered rps | achieved old / new | p50 ms old / new | p99 ms old / new "
        "| CPU ms/request old / new | degraded % old / new | errors % old / new "
        "| bare chain p50 / p99 ms |",
        "| ---: | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["rates"]:
        o, n, x, c = row["old"], row["new"], row["new_vs_old"], row["chain"]
        lines.append(
            f"| {row['offered_rps']:.0f} | {o['achieved_rps']:.0f} / {n['achieved_rps']:.0f} "
            f"| {o['p50_ms']:.2f} / {n['p50_ms']:.2f} ({_x(x['p50_ms'])}) "
            f"| {o['p99_ms']:.2f} / {n['p99_ms']:.2f} ({_x(x['p99_ms'])}) "
            f"| {o['cpu_ms_per_request']:.2f} / {n['cpu_ms_per_request']:.2f} "
            f"({_x(x['cpu_ms_per_request'])}) "
            f"| {100 * o['degraded_share']:.1f} / {100 * n['degraded_share']:.1f} "
            f"| {100 * o['error_share']:.1f} / {100 * n['error_share']:.1f} "
            f"| {c['p50_ms']:.2f} / {c['p99_ms']:.2f} |"
        )
    lines += [
        "",
        f"- Highest offered rate held (p99 <= {HELD_P99_MS:.0f} ms, <= 1 % degraded, <= 1 % "
        f"errors): old {_rate(held_rates['old'])}, new {_rate(held_rates['new'])} "
        f"({_x(held_rates['new_vs_old'])}).",
        f"- Single stream p50: old {single['old_p50_ms']:.2f} ms, new "
        f"{single['new_p50_ms']:.2f} ms ({_x(single['new_vs_old'])}). Floor sum "
        f"{single['floor_sum_ms']:.2f} ms = bare chain single stream "
        f"{floor['chain_single_stream']['p50_ms']:.2f} ms + paced in-process pipeline "
        f"{floor['in_process_paced']['p50_ms']:.2f} ms: old {_x(single['old_vs_floor'])}, "
        f"new {_x(single['new_vs_floor'])}.",
        f"- In-process pipeline back to back: p50 {floor['in_process']['p50_ms']:.2f} ms, "
        f"p99 {floor['in_process']['p99_ms']:.2f} ms.",
        "- The load generator's own CPU per request (old / new runs): "
        + ", ".join(
            f"{r['offered_rps']:.0f} rps {r['old']['loadgen_cpu_ms_per_request']:.2f} / "
            f"{r['new']['loadgen_cpu_ms_per_request']:.2f} ms"
            for r in result["rates"]
        )
        + ".",
    ]
    return "\n".join(lines)


def main(revision: str, rates: Sequence[float], duration: float, smoke: bool, cache: bool) -> int:
    started = time.monotonic()
    summary = run(revision, rates, duration, smoke, cache)
    print(f"took {time.monotonic() - started:.0f} s")
    if not smoke:
        write_json("serving_against", summary)
        write_section("serving-against", markdown(summary))
    return 0
