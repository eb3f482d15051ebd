"""`make demo`: the whole loop on real data, from a fresh clone, and exit 0.

1. fetch MovieLens 100K and start the mesh (`recmesh up`, in the background)
2. recommendations from the baseline serving version
3. an experiment whose XGBoost challenger passes; bob approves, olga promotes
4. recommendations from the new version (none of them rated by the user already), and
   the trace of one request
5. fresh data through the gate: the user consumes three recommended items, a refresh
   of the serving model with the new data serves under the refresh policy, and the
   three are no longer recommended
6. a deliberately weak challenger: its promotion is refused, with the reason
7. one rollback, the pointer, the audit log verified
8. where the reports are; everything stopped
Every step is a real `recmesh` command, printed before it runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "var" / "demo"
RECMESH = str(Path(sys.executable).parent / "recmesh")
REPORTS = ("--reports", str(STATE / "reports"))


class DemoError(RuntimeError):
    pass


def banner(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def run(*args: str, expect_ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs `recmesh ARGS`, printing its output; its stderr (progress, errors) streams live
    except for an expected refusal, whose message is checked."""
    print(f"$ recmesh {' '.join(args)}", flush=True)
    done = subprocess.run(
        [RECMESH, *args],
        text=True,
        stdout=subprocess.PIPE,
        stderr=None if expect_ok else subprocess.PIPE,
        env=ENV,
        cwd=ROOT,
    )
    if done.stdout:
        print(done.stdout.rstrip(), flush=True)
    if done.stderr:
        print(done.stderr.rstrip(), flush=True)
    if expect_ok and done.returncode != 0:
        raise DemoError(f"`recmesh {' '.join(args)}` exited {done.returncode}")
    if not expect_ok and done.returncode == 0:
        raise DemoError(f"`recmesh {' '.join(args)}` should have been refused")
    return done


def run_json(*args: str) -> dict[str, Any]:
    done = run(*args, "--json")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def wait_for_version(version: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run(
            [RECMESH, "recommend", "196", "--json"],
            text=True,
            capture_output=True,
            env=ENV,
            cwd=ROOT,
        )
        if done.returncode == 0 and json.loads(done.stdout)["serving_version"] == version:
            return
        time.sleep(0.2)
    raise DemoError(f"the mesh did not switch to {version} within {timeout:.0f} s")


ENV = dict(os.environ)
ENV.update(
    {
        "RECMESH_CREDENTIALS": str(STATE / "credentials" / "tokens"),
        "RECMESH_ARTIFACTS": str(STATE / "artifacts"),
        "RECMESH_STATE_DIR": str(STATE),
        "RECMESH_DATA_DIR": str(STATE / "data"),
    }
)


def main() -> int:
    if STATE.exists():
        shutil.rmtree(STATE)
    STATE.mkdir(parents=True)
    cache = ROOT / "var" / "data" / "ml-100k"
    banner("1. MovieLens 100K and the mesh")
    if cache.is_dir():
        shutil.copytree(cache, STATE / "data" / "ml-100k")
    run("data", "fetch", "ml-100k", "--data-dir", str(STATE / "data"))
    log = (STATE / "up.log").open("w")
    print(f"$ recmesh up --state-dir {STATE} &   (log: {STATE / 'up.log'})", flush=True)
    up = subprocess.Popen(
        [RECMESH, "up", "--state-dir", str(STATE)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=ENV,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 180
        while "recmesh is up" not in (STATE / "up.log").read_text():
            if up.poll() is not None or time.monotonic() > deadline:
                print((STATE / "up.log").read_text()[-3000:], file=sys.stderr)
                raise DemoError("recmesh up did not come up")
            time.sleep(0.3)
        print("the mesh is up", flush=True)
        return loop()
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        banner("8. stopping everything")
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            up.kill()
        log.close()
        print("stopped", flush=True)


def loop() -> int:
    banner("2. recommendations from the baseline serving version")
    run("pointer")
    run("recommend", "196", "-k", "10")

    banner("3. an XGBoost challenger: train, evaluate against the champion, record")
    good = run_json(
        "experiment", "run", "experiments/xgb-challenger.yaml", "--as", "alice", *REPORTS
    )
    if good["verdict"] != "PASS":
        raise DemoError(f"the XGBoost challenger did not pass: {good['reasons']}")
    run("review", good["experiment_id"], "--approve", "--comment", "metrics hold", "--as", "bob")
    run("promote", good["experiment_id"], "--as", "olga")

    banner("4. recommendations from the new version, and one request's trace")
    wait_for_version(good["challenger_version"])
    run("recommend", "196", "-k", "10")
    answer = run_json("recommend", "196", "-k", "10")
    shown = [item["item_id"] for item in answer["items"]]
    already = sorted(set(shown) & rated_by("196"))
    if already:
        raise DemoError(f"user 196 was recommended items they rated: {already}")
    print(f"none of the {len(shown)} items was rated by user 196 in ml-100k", flush=True)
    run("trace", answer["trace_id"], "--span-file", str(STATE / "spans.jsonl"))

    banner("5. fresh data through the gate: what user 196 just watched")
    consumed = shown[:3]
    # ml-100k ends in April 1998: the interactions happen a minute after its last one,
    # so that time-decayed popularity still sees the dataset as recent.
    at = str(dataset_end() + 60)
    run("interactions", "record", "196", *(f"{item}:5" for item in consumed), "--at", at)
    run("refresh-policy", "set", "--as", "olga")
    refreshed = run_json("data", "refresh", "--as", "olga")
    wait_for_version(refreshed["serving_version"])
    after = run_json("recommend", "196", "-k", "10")
    run("recommend", "196", "-k", "10")
    again = sorted({item["item_id"] for item in after["items"]} & set(consumed))
    if again:
        raise DemoError(f"items user 196 just consumed are still recommended: {again}")
    print(f"items {consumed} are consumed now and no longer recommended", flush=True)

    banner("6. a deliberately weak challenger: its promotion is refused")
    weak = run_json(
        "experiment", "run", "experiments/weak-challenger.yaml", "--as", "alice", *REPORTS
    )
    if weak["verdict"] != "FAIL":
        raise DemoError("the weak challenger was expected to FAIL")
    refused = run("promote", weak["experiment_id"], "--as", "olga", expect_ok=False)
    if "FAILED_PRECONDITION" not in refused.stderr:
        raise DemoError("the refusal did not say FAILED_PRECONDITION")

    banner("7. one rollback, the pointer, the audit log")
    run("rollback", "--reason", "demo: show that rollback is one call", "--as", "olga")
    run("pointer")
    run("audit")
    run("audit", "--verify")

    banner("reports")
    for result in (good, weak):
        print(f"{result['experiment_id']} ({result['verdict']}): {result['report_path']}")
    return 0


def dataset_end() -> int:
    """The timestamp of ml-100k's last interaction."""
    from recmesh.data.loaders import load_ml100k

    return int(load_ml100k(STATE / "data" / "ml-100k").interactions.timestamps.max())


def rated_by(user: str) -> set[int]:
    """The items `user` rated in ml-100k, as recmesh loads it."""
    from recmesh.data.loaders import load_ml100k

    interactions = load_ml100k(STATE / "data" / "ml-100k").interactions
    return set(interactions.items[interactions.users == int(user)].tolist())


if __name__ == "__main__":
    sys.exit(main())
