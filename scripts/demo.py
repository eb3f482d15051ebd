"""`make demo`: the whole loop on real data, from a fresh clone, and exit 0.

1. fetch MovieLens 100K and start the mesh (`recmesh up`, in the background)
2. recommendations from the baseline serving version
3. two challengers that pass offline, both approved by bob: the XGBoost challenger, and a
   far larger (slower) ranker that declares no offline latency budget
4. the XGBoost challenger in shadow on live traffic: the quality diff of the two lists,
   attached to the experiment
5. a staged rollout of the slow challenger that rolls itself back on its live latency
   guardrail, with the audit entry naming the figures
6. a staged rollout of the XGBoost challenger that completes (stages of 10 % and 50 %
   of users, then everyone)
7. recommendations from the new version (none of them rated by the user already), and
   the trace of one request
8. fresh data through the gate: the user consumes three recommended items, a refresh
   of the serving model with the new data serves under the refresh policy, and the
   three are no longer recommended
9. a deliberately weak challenger: its promotion is refused, with the reason
10. one rollback, the pointer, the audit log verified
11. where the reports are; everything stopped
Every step is a real `recmesh` command, printed before it runs; traffic comes from
`recmesh replay` (open-loop Recommend calls over ml-100k's users).
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


def run(
    *args: str, expect_ok: bool = True, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs `recmesh ARGS`, printing its output; its stderr (progress, errors) streams live
    except for an expected refusal, whose message is checked."""
    print(f"$ recmesh {' '.join(args)}", flush=True)
    try:
        done = subprocess.run(
            [RECMESH, *args],
            text=True,
            stdout=subprocess.PIPE,
            stderr=None if expect_ok else subprocess.PIPE,
            env=ENV,
            cwd=ROOT,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise DemoError(f"`recmesh {' '.join(args)}` did not end within {timeout:.0f} s") from exc
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
        banner("11. stopping everything")
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

    banner("3. two challengers, evaluated against the champion and approved")
    good = run_json(
        "experiment", "run", "experiments/xgb-challenger.yaml", "--as", "alice", *REPORTS
    )
    if good["verdict"] != "PASS":
        raise DemoError(f"the XGBoost challenger did not pass: {good['reasons']}")
    run("review", good["experiment_id"], "--approve", "--comment", "metrics hold", "--as", "bob")
    slow = run_json(
        "experiment", "run", "experiments/slow-challenger.yaml", "--as", "alice", *REPORTS
    )
    if slow["verdict"] != "PASS":
        raise DemoError(f"the slow challenger did not pass offline: {slow['reasons']}")
    run("review", slow["experiment_id"], "--approve", "--comment", "offline ok", "--as", "bob")

    banner("4. the XGBoost challenger in shadow: ranked beside the champion, never shown")
    run("shadow", "start", good["experiment_id"], "--share", "0.5", "--as", "olga")
    wait_for_rollout_load(good["challenger_version"])
    run("replay", "--rps", "40", "--duration", "15")
    shadow_dir = STATE / "reports" / "shadow" / good["experiment_id"]
    run("shadow", "report", good["experiment_id"], "--out", str(shadow_dir), "--attach",
        "--as", "alice")  # fmt: skip
    run("shadow", "stop", good["experiment_id"], "--reason", "diff attached", "--as", "olga")

    banner("5. a staged rollout that rolls itself back: the slow challenger, live")
    threshold = latency_threshold_ms()
    latency_guardrail = f"latency_p99:0.05:threshold_ms={threshold:g}"
    with background_traffic(rps=40, seconds=90):
        run(
            "promote", slow["experiment_id"], "--stages", "0.2,1", "--hold", "15s",
            "--min-requests", "50", "--guardrail", "error_rate:0.02",
            "--guardrail", latency_guardrail, "--look-interval", "1s", "--as", "olga",
        )  # fmt: skip
        run("rollout", "status", slow["experiment_id"], "--watch", "--as", "alice", timeout=80)
    ended = rollout_status(slow["experiment_id"])
    if ended != "ROLLOUT_STATUS_ROLLED_BACK":
        raise DemoError(f"the slow challenger's rollout ended {ended}, not rolled back")
    run("audit", "--action", "rollout_rolled_back")

    banner("6. a staged rollout that completes: the XGBoost challenger")
    with background_traffic(rps=40, seconds=120):
        run(
            "promote", good["experiment_id"], "--stages", "0.1,0.5,1", "--hold", "8s",
            "--min-requests", "30", "--guardrail", "error_rate:0.02",
            "--guardrail", "degraded_rate:0.02", "--guardrail", latency_guardrail,
            "--shadow-bound", "error_rate:max:0.02", "--look-interval", "1s",
            "--as", "olga",
        )  # fmt: skip
        run("rollout", "status", good["experiment_id"], "--watch", "--as", "alice", timeout=110)
    ended = rollout_status(good["experiment_id"])
    if ended != "ROLLOUT_STATUS_COMPLETED":
        raise DemoError(f"the XGBoost challenger's rollout ended {ended}, not completed")

    banner("7. recommendations from the new version, and one request's trace")
    wait_for_version(good["challenger_version"])
    run("recommend", "196", "-k", "10")
    answer = run_json("recommend", "196", "-k", "10")
    shown = [item["item_id"] for item in answer["items"]]
    already = sorted(set(shown) & rated_by("196"))
    if already:
        raise DemoError(f"user 196 was recommended items they rated: {already}")
    print(f"none of the {len(shown)} items was rated by user 196 in ml-100k", flush=True)
    run("trace", answer["trace_id"], "--span-file", str(STATE / "spans.jsonl"))

    banner("8. fresh data through the gate: what user 196 just watched")
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

    banner("9. a deliberately weak challenger: its promotion is refused")
    weak = run_json(
        "experiment", "run", "experiments/weak-challenger.yaml", "--as", "alice", *REPORTS
    )
    if weak["verdict"] != "FAIL":
        raise DemoError("the weak challenger was expected to FAIL")
    refused = run("promote", weak["experiment_id"], "--as", "olga", expect_ok=False)
    if "FAILED_PRECONDITION" not in refused.stderr:
        raise DemoError("the refusal did not say FAILED_PRECONDITION")

    banner("10. one rollback, the pointer, the audit log")
    run("rollback", "--reason", "demo: show that rollback is one call", "--as", "olga")
    run("pointer")
    run("audit")
    run("audit", "--verify")

    banner("reports")
    for result in (good, slow, weak):
        print(f"{result['experiment_id']} ({result['verdict']}): {result['report_path']}")
    print(f"shadow diff of {good['experiment_id']}: {shadow_dir / 'shadow-report.html'}")
    return 0


def wait_for_rollout_load(version: str, timeout: float = 60.0) -> None:
    """Waits until the front has loaded the challenger beside the champion (a shadow
    started before it loads is skipped for those requests, by design)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run(
            [RECMESH, "replay", "--users", "1-20", "--rps", "20", "--duration", "1", "--json"],
            text=True,
            capture_output=True,
            env=ENV,
            cwd=ROOT,
        )
        if done.returncode == 0 and version in rollout_log_versions():
            return
        time.sleep(0.5)
    raise DemoError(f"the front did not load {version} beside the champion in {timeout:.0f} s")


def rollout_log_versions() -> set[str]:
    """The serving versions the impression log has seen."""
    path = STATE / "impressions.jsonl"
    if not path.exists():
        return set()
    lines = path.read_text().splitlines()[-200:]
    return {json.loads(line).get("serving_version", "") for line in lines if line.strip()}


def latency_threshold_ms() -> float:
    """The plan's latency threshold: the champion's p99 under the demo's traffic, measured
    now, doubled and rounded up to a bucket edge of the front's latency histogram (the
    guardrail compares each arm's share of requests slower than it), and at least 25 ms:
    the champion here is the baseline, which ranks nothing, and a challenger may take a
    few milliseconds more to rank (the shadow report measured how many) without being
    slow."""
    measured = run_json("replay", "--rps", "40", "--duration", "5")
    edges = (25.0, 50.0, 100.0, 250.0, 500.0)
    wanted = 2.0 * float(measured["p99_ms"])
    threshold = next((edge for edge in edges if edge >= wanted), edges[-1])
    print(f"champion p99 {measured['p99_ms']} ms: latency threshold {threshold:g} ms", flush=True)
    return threshold


def rollout_status(experiment_id: str) -> str:
    status: str = run_json("rollout", "status", experiment_id, "--as", "alice")["rollout"]["status"]
    return status


class background_traffic:  # noqa: N801 - used as a statement: `with background_traffic(...)`
    """`recmesh replay` in the background for the body of a with statement."""

    def __init__(self, rps: float, seconds: float) -> None:
        self._args = ["replay", "--rps", f"{rps:g}", "--duration", f"{seconds:g}"]
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> None:
        print(f"$ recmesh {' '.join(self._args)} &", flush=True)
        self._process = subprocess.Popen(
            [RECMESH, *self._args],
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=ENV,
            cwd=ROOT,
        )

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGINT)
        try:
            out, _ = self._process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            out, _ = self._process.communicate()
        print("(background traffic stopped)", flush=True)
        if out and "Traceback" not in out:
            print(out.rstrip(), flush=True)


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
