"""What shadow scoring costs the champion: p50/p99 and the front's CPU, with and without it.

    python -m bench.shadow_cost [--rate 50] [--duration 20] [--rounds 4] [--share 0.2]
        [--slow-challenger] [--slow-trees 2000] [--smoke]

Starts the local mesh (as bench/serving.py does) in a temporary state dir, writes two
small XGBoost versions of ml-100k into its artifact store (testkit/bundles.py: the
champion, and a challenger with more trees trained on more users, so its ranking
differs), and points the mesh at the champion with a record signed by the
installation's pointer key. Then, alternating within the same run so drift hits both
arms alike, `--rounds` times each:

- `none`: the record names the champion alone;
- `shadow`: the record also names the challenger in SHADOW mode for `--share` of users;
- with `--slow-challenger`, `slow`: the same with a slow challenger instead
  (`--slow-trees` trees of depth 8, grown full: tens of ms per Rank, like
  experiments/slow-challenger.yaml), whose scoring ranking runs off its event loop
  and sheds while champion Ranks are in flight (services/ranking/scoring_lanes.py);

each switch followed by a warm-up (not counted) until the front answers from the
champion and, for `shadow`, the impression log holds challenger records (every
process has loaded the challenger). Each measured run is the open-loop load
generator (bench/loadgen.py) at `--rate`, k=10, over 300 users, for
duration / rounds seconds, with each service's CPU from /proc before and after.
Prints per arm (the mean over its runs): p50, p99, the front's CPU (share of a
core and ms per answered request), the other three services' CPU per request,
degraded answers, shadows logged; then the shadow/none ratios (and slow/none). The
smoke run: the baseline as champion, a tiny challenger, 1 s per arm, one round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from etcd3aio import Etcd3Client

from bench.champion import ServingPointer, current_pointer
from bench.serving import LOADGEN, cpu_seconds, free_ports, run_json
from local_mesh.layout import MeshLayout
from local_mesh.local_mesh import LocalMesh
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.writer import WrittenBundle
from recmesh.data.loaders import load_ml100k
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.pointer_codec import encode_pointer
from recmesh.etcd.session import EtcdSession
from recmesh.etcd.users import ROOT_USER
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.signing.keys import load_private_key
from recmesh.signing.sign import PointerSigner
from testkit.bundles import build_xgboost_bundle

FOUR = ("recommend", "candidates", "features", "ranking")
ARMS = ("none", "shadow")
SLOW_ARM = "slow"
#: The slow challenger's trees' depth (experiments/slow-challenger.yaml's).
SLOW_DEPTH = 8


class PointerWriter:
    """Writes pointer records signed with the installation's key straight into etcd (as
    root), as the control plane would write them; sequences only grow."""

    def __init__(self, layout: MeshLayout, etcd_port: int) -> None:
        self._signer = PointerSigner(load_private_key(layout.pointer_signing_key))
        self._root = layout.etcd_passwords.credentials(ROOT_USER)
        self._endpoint = f"127.0.0.1:{etcd_port}"
        self._sequence = 0

    def write(self, champion: ServingPointer, rollout: records_pb2.Rollout | None) -> None:
        self._sequence = max(self._sequence + 1, time.time_ns() // 1000)
        pointer = records_pb2.ServingPointer(
            serving_version=champion.version_id,
            manifest_sha256=champion.manifest_sha256,
            set_by="bench.shadow_cost",
            sequence=self._sequence,
        )
        if rollout is not None:
            pointer.rollout.CopyFrom(rollout)
        asyncio.run(self._put(encode_pointer(self._signer.sign(pointer))))

    async def _put(self, value: bytes) -> None:
        session = EtcdSession([self._endpoint], credentials=self._root)
        await session.open()
        try:

            async def put(client: Etcd3Client) -> None:
                assert client.kv is not None
                await client.kv.put(KeySchema().pointer, value, timeout=5.0)

            await session.call(put)
        finally:
            await session.close()


def shadow_rollout(challenger: ServingPointer, share: float) -> records_pb2.Rollout:
    return records_pb2.Rollout(
        rollout_id="bench-shadow",
        experiment_id="bench-shadow",
        challenger_version=challenger.version_id,
        challenger_manifest_sha256=challenger.manifest_sha256,
        mode=records_pb2.ROLLOUT_MODE_SHADOW,
        share=share,
    )


def challenger_records(impressions: Path, version_id: str = "") -> int:
    """Challenger records ranked without failing (of `version_id` when given)."""
    if not impressions.exists():
        return 0
    return sum(
        1
        for line in impressions.read_text().splitlines()
        if '"arm":"challenger"' in line
        and '"error":false' in line
        and (not version_id or version_id in line)
    )


def drive(target: str, rate: float, duration: float, users: list[str]) -> dict[str, Any]:
    argv = [*LOADGEN, "--target", target, "--rate", str(rate), "--duration", str(duration)]
    return run_json([*argv, "--users", ",".join(users)])


def warm_up(
    target: str,
    champion: ServingPointer,
    impressions: Path,
    users: list[str],
    shadow: ServingPointer | None,
    timeout_s: float = 60.0,
) -> None:
    """Light load until the front answers whole from the champion and, for a shadow
    arm, records of its challenger (ranked, not failed) reach the impression log."""
    deadline = time.monotonic() + timeout_s
    version = shadow.version_id if shadow else ""
    seen = challenger_records(impressions, version)
    while True:
        probe = drive(target, 20, 1.0, users)
        whole = champion.version_id in probe["serving_versions"] and not probe["degraded"]
        time.sleep(0.3)  # the impression log is flushed every 0.2 s
        shadowed = challenger_records(impressions, version) > seen
        if whole and (shadowed or not shadow):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the mesh did not settle on the pointer record in time")


def measure(
    mesh: LocalMesh, target: str, rate: float, duration: float, users: list[str], imp: Path
) -> dict[str, Any]:
    assert mesh.supervisor is not None
    pids = {s: mesh.supervisor.pid_of(s) for s in FOUR}
    before = {s: cpu_seconds(pid) for s, pid in pids.items()}
    shadows_before = challenger_records(imp)
    started = time.monotonic()
    result = drive(target, rate, duration, users)
    wall = time.monotonic() - started
    time.sleep(0.3)
    answered = max(int(result["answered"]), 1)
    used = {s: cpu_seconds(pid) - before[s] for s, pid in pids.items()}
    result["cpu_ms_per_request"] = {s: 1000 * used[s] / answered for s in FOUR}
    result["front_cores"] = used["recommend"] / wall
    result["shadows_logged"] = challenger_records(imp) - shadows_before
    return result


def _version(bundle: WrittenBundle) -> ServingPointer:
    return ServingPointer(bundle.version_id, bundle.manifest_sha256)


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs of one arm together: the mean of their p50s and p99s (and the worst
    p99), the mean CPU per request, the sums of the counts."""
    return {
        "p50_ms": float(np.mean([run["p50_ms"] for run in runs])),
        "p99_ms": float(np.mean([run["p99_ms"] for run in runs])),
        "max_p99_ms": float(max(run["p99_ms"] for run in runs)),
        "answered": sum(int(run["answered"]) for run in runs),
        "front_cores": float(np.mean([run["front_cores"] for run in runs])),
        "cpu_ms_per_request": {
            s: float(np.mean([run["cpu_ms_per_request"][s] for run in runs])) for s in FOUR
        },
        "degraded": sum(sum(run["degraded"].values()) for run in runs),
        "errors": sum(sum(run["errors"].values()) for run in runs),
        "shadows_logged": sum(int(run["shadows_logged"]) for run in runs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shadow_cost", description=__doc__)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per arm")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the arms")
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument(
        "--slow-challenger",
        action="store_true",
        help="a third arm: a slow challenger (trees of depth 8) in shadow",
    )
    parser.add_argument("--slow-trees", type=int, default=2000, help="the slow challenger's")
    parser.add_argument("--smoke", action="store_true", help="1 s per arm, one round")
    args = parser.parse_args(argv)
    arms = (*ARMS, SLOW_ARM) if args.slow_challenger else ARMS
    rounds = 1 if args.smoke else args.rounds
    run_s = 1.0 if args.smoke else args.duration / rounds
    state = Path(tempfile.mkdtemp(prefix="recmesh-bench-shadow-"))
    cache = REPO_ROOT / "var" / "data" / "ml-100k"
    if cache.is_dir():
        shutil.copytree(cache, state / "data" / "ml-100k")
    layout = MeshLayout(state)
    mesh = LocalMesh(layout, free_ports())
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
    try:
        mesh.start()
        try:
            dataset = load_ml100k(state / "data" / "ml-100k")
            store = LocalArtifactStore(layout.artifacts)
            print("building the champion and the challenger ...", flush=True)
            if args.smoke:
                baseline = current_pointer(layout, mesh.ports)
                champion = baseline
                challenger = _version(build_xgboost_bundle(dataset, store, users=50, trees=5))
            else:
                champion = _version(build_xgboost_bundle(dataset, store))
                challenger = _version(build_xgboost_bundle(dataset, store, users=300, trees=40))
            challengers = {"shadow": challenger}
            if args.slow_challenger:
                print(f"building the slow challenger ({args.slow_trees} trees) ...", flush=True)
                # Few users and no minimum child weight: every tree grows its full depth.
                slow_bundle = build_xgboost_bundle(
                    dataset,
                    store,
                    users=50,
                    trees=args.slow_trees,
                    max_depth=SLOW_DEPTH,
                    min_child_weight=0.0,
                )
                challengers[SLOW_ARM] = _version(slow_bundle)
            pointers = PointerWriter(layout, mesh.ports.etcd)
            target = f"127.0.0.1:{mesh.ports.recommend}"
            users = [str(u) for u in np.unique(dataset.interactions.users)[:300]]
            records: dict[str, records_pb2.Rollout | None] = {"none": None}
            records.update({arm: shadow_rollout(c, args.share) for arm, c in challengers.items()})
            for round_index in range(rounds):
                for arm in arms:
                    pointers.write(champion, records[arm])
                    warm_up(target, champion, layout.impressions, users, challengers.get(arm))
                    run = measure(mesh, target, args.rate, run_s, users, layout.impressions)
                    runs[arm].append(run)
                    print(
                        f"round {round_index + 1} {arm:6s}: p50 {run['p50_ms']:.2f} ms, "
                        f"p99 {run['p99_ms']:.2f} ms, front {run['front_cores']:.3f} cores, "
                        f"shadows logged {run['shadows_logged']}",
                        flush=True,
                    )
        finally:
            mesh.stop()
    finally:
        shutil.rmtree(state, ignore_errors=True)
    summary = {arm: summarize(runs[arm]) for arm in arms}
    for arm in arms:
        s = summary[arm]
        cpu = ", ".join(f"{n} {v:.2f}" for n, v in s["cpu_ms_per_request"].items())
        print(
            f"{arm:6s}: {s['answered']} answered at {args.rate:.0f} rps, p50 {s['p50_ms']:.2f} "
            f"ms, p99 {s['p99_ms']:.2f} ms, front {s['front_cores']:.3f} cores; CPU ms/request "
            f"{cpu}; degraded {s['degraded']}, errors {s['errors']}, "
            f"shadows logged {s['shadows_logged']}"
        )
    none, shadow = summary["none"], summary["shadow"]
    ratios = {
        "p50": shadow["p50_ms"] / none["p50_ms"],
        "p99": shadow["p99_ms"] / none["p99_ms"],
        "front_cpu": shadow["front_cores"] / max(none["front_cores"], 1e-9),
    }
    print(
        f"shadow/none at a {args.share:.0%} share: p50 x{ratios['p50']:.3f}, "
        f"p99 x{ratios['p99']:.3f}, front CPU x{ratios['front_cpu']:.3f}"
    )
    if args.slow_challenger:
        slowed = summary[SLOW_ARM]
        ratios["slow_p50"] = slowed["p50_ms"] / none["p50_ms"]
        ratios["slow_p99"] = slowed["p99_ms"] / none["p99_ms"]
        print(
            f"slow/none ({args.slow_trees} trees of depth {SLOW_DEPTH}): "
            f"p50 x{ratios['slow_p50']:.3f}, p99 x{ratios['slow_p99']:.3f}"
        )
    print(json.dumps({"rate": args.rate, "share": args.share, "summary": summary, **ratios}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
