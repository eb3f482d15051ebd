"""Experiment isolation: `recmesh experiment run` on the serving machine, crashed, hung or
training for many seconds, leaves serving latency within noise and no partial record.

Each test drives Recommend at a bounded rate through the process mesh while a real
runner process, in its own session as if started from another terminal, talks to
the mesh's control plane; a quiet window measured once is the baseline. Latency is
not held to wall-clock thresholds: every request must be answered, whole, within a
generous deadline, and the median may not move beyond a generous multiple of the
quiet median (starvation shows as several times the median, noise does not).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
import yaml

from control_plane.auth.client_tokens import load_client_tokens
from local_mesh.bootstrap import ensure_credentials
from offline.experiment.footprint import DEFAULT_NICENESS, default_threads
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import control_plane_pb2_grpc, records_pb2
from recmesh.files.repo_paths import REPO_ROOT
from tests.offline.experiment.specs import small_spec, write_spec
from tests.reliability.load import OpenLoop, Summary, report, summarize
from tests.reliability.process_mesh import USERS, ProcessMesh

T = TypeVar("T")

# About 0.6 of a core of serving work at ~15 ms of CPU per request: the runner and
# serving really compete for the 2 cores, and serving is far from its own limit.
RATE = 40.0
# Generous: a degraded answer or a DEADLINE_EXCEEDED means serving was starved.
DEADLINE_S = 1.0
QUIET_S = 8.0
# The median during a disturbance may be up to 3x the quiet one, plus a few ms so that
# a very quiet baseline does not make the bound razor-thin.
P50_FACTOR = 3.0
P50_SLACK_MS = 10.0
KILL_AFTER_TRAINING_S = 3.0
HANG_S = 5.0
RUN_WITHIN_S = 240.0

TRAINING = "training the XGBoost ranker ..."
TRAINED = "training the XGBoost ranker:"
EVALUATING = "evaluating the champion ..."


def _training_spec() -> dict[str, Any]:
    """The shipped challenger (XGBoost nthread 2) on 150 users, 80 trees without early
    stopping and a lighter evaluation: a real run, busy training for 10 to 15 s here."""
    body: dict[str, Any] = yaml.safe_load(
        (REPO_ROOT / "experiments/xgb-challenger.yaml").read_text()
    )
    body["name"] = "isolation-training"
    body["dataset"]["max_users"] = 150
    body["training"]["xgboost"].update(n_estimators=80, early_stopping_rounds=0)
    body["latency"]["calls"] = 100
    body["bootstrap"]["resamples"] = 300
    return body


@dataclass(frozen=True)
class Records:
    """What the control plane holds, to tell what a run left behind."""

    models: frozenset[str]
    experiments: frozenset[str]
    audit_sequence: int


@dataclass
class Host:
    """The mesh's control plane as a runner sees it, and a client of it."""

    mesh: ProcessMesh
    tokens: Path
    stub: Any
    metadata: tuple[tuple[str, str], ...]

    def command(self, spec: Path, reports: Path) -> list[str]:
        layout = self.mesh.mesh.layout
        return [
            sys.executable, "-m", "cli.main", "experiment", "run", str(spec), "--json",
            "--data-dir", str(layout.data), "--artifacts", str(layout.artifacts),
            "--reports", str(reports), "--code-revision", "test",
            "--interaction-log", str(layout.interactions),
            "--control-plane", self.mesh.address_of("control_plane"),
            "--credentials", str(self.tokens), "--as", "alice",
        ]  # fmt: skip

    def records(self) -> Records:
        models = self.stub.ListModelVersions(
            pb.ListModelVersionsRequest(), metadata=self.metadata
        ).model_versions
        experiments = self.stub.ListExperiments(
            pb.ListExperimentsRequest(), metadata=self.metadata
        ).experiments
        return Records(
            frozenset(m.version_id for m in models),
            frozenset(e.experiment_id for e in experiments),
            max((e.sequence for e in self.audit_after(0)), default=0),
        )

    def audit_after(self, sequence: int) -> list[Any]:
        return list(
            self.stub.ListAuditEntries(
                pb.ListAuditEntriesRequest(after_sequence=sequence), metadata=self.metadata
            ).entries
        )

    def experiment(self, experiment_id: str) -> pb.GetExperimentResponse:
        response: pb.GetExperimentResponse = self.stub.GetExperiment(
            pb.GetExperimentRequest(experiment_id=experiment_id), metadata=self.metadata
        )
        return response


class Runner:
    """`recmesh experiment run` as its own process and session; stderr read line by line."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.nice: int | None = None
        self._changed = threading.Condition()
        self._ended = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for(self, mark: str, within_s: float = RUN_WITHIN_S) -> None:
        """Waits until stderr has a line starting with mark; then notes the run's nice
        value as the kernel reports it."""
        with self._changed:
            self._changed.wait_for(lambda: self._seen(mark) or self._ended, within_s)
            assert self._seen(mark), f"the runner never printed {mark!r}:\n{''.join(self.lines)}"
        self.nice = os.getpriority(os.PRIO_PROCESS, self.process.pid)

    def _seen(self, mark: str) -> bool:
        return any(line.startswith(mark) for line in self.lines)

    def signal(self, number: signal.Signals) -> None:
        os.kill(self.process.pid, number)

    def wait(self, within_s: float = RUN_WITHIN_S) -> int:
        code = self.process.wait(within_s)
        self._reader.join(10)
        return code

    def stdout(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def host(process_mesh: ProcessMesh) -> Iterator[Host]:
    """The mesh's control plane, with its serving XGBoost version registered (registering
    is idempotent), so that a run can read and evaluate the champion."""
    tokens = ensure_credentials(process_mesh.mesh.layout).client_tokens
    token = load_client_tokens(tokens)["alice"]
    with grpc.insecure_channel(process_mesh.address_of("control_plane")) as channel:
        found = Host(
            process_mesh,
            tokens,
            control_plane_pb2_grpc.ControlPlaneServiceStub(channel),
            (("authorization", f"Bearer {token}"),),
        )
        found.stub.RegisterModelVersion(
            pb.RegisterModelVersionRequest(
                manifest_sha256=process_mesh.xgboost.manifest_sha256,
                lineage=records_pb2.Lineage(split="the process mesh's serving version"),
                description="champion of the isolation tests",
            ),
            metadata=found.metadata,
        )
        yield found


@pytest.fixture(scope="module")
def quiet(process_mesh: ProcessMesh) -> Summary:
    """Serving latency with no runner: 2 s of warm-up, then QUIET_S measured."""
    process_mesh.wait_all_serving()
    asyncio.run(OpenLoop(process_mesh.front, USERS, RATE, 2.0, DEADLINE_S).run())
    summary = summarize(
        asyncio.run(OpenLoop(process_mesh.front, USERS, RATE, QUIET_S, DEADLINE_S).run())
    )
    report("experiment isolation, quiet", summary.line())
    assert summary.errors == {}
    assert summary.degraded == {}
    return summary


def _under_load(mesh: ProcessMesh, disturbance: Callable[[], T]) -> tuple[Summary, T]:
    """Recommend at RATE from before the disturbance starts until it has returned."""

    async def run() -> tuple[Summary, T]:
        load = OpenLoop(mesh.front, USERS, RATE, 600.0, DEADLINE_S, max_requests=30_000)
        sending = asyncio.create_task(load.run())
        try:
            result = await asyncio.to_thread(disturbance)
        finally:
            load.stop()
            outcomes = await sending
        return summarize(outcomes), result

    return asyncio.run(run())


def _assert_serving_untouched(name: str, quiet: Summary, during: Summary) -> None:
    report(
        f"experiment isolation, {name}",
        f"{during.line()}; quiet p50 {quiet.p50_ms:.1f} ms, p99 {quiet.p99_ms:.1f} ms",
    )
    assert during.sent > RATE  # at least a second of traffic
    assert during.errors == {}
    assert during.answered == during.sent
    assert during.degraded == {}
    assert during.p50_ms <= P50_FACTOR * quiet.p50_ms + P50_SLACK_MS


@pytest.mark.slow
def test_runner_killed_while_training_moves_no_latency_and_records_nothing(
    process_mesh: ProcessMesh, host: Host, quiet: Summary, tmp_path: Path
) -> None:
    """SIGKILL of a run 3 s into XGBoost training: serving answers every request whole,
    its median within 3x the quiet one, and the control plane holds nothing new (the run
    dies before its first upload)."""
    spec = write_spec(tmp_path / "spec.yaml", _training_spec())
    before = host.records()
    runner = Runner(host.command(spec, tmp_path / "reports"))

    def crash() -> int:
        runner.wait_for(TRAINING)
        time.sleep(KILL_AFTER_TRAINING_S)
        runner.signal(signal.SIGKILL)
        return runner.wait()

    try:
        during, code = _under_load(process_mesh, crash)
    finally:
        runner.stop()
    _assert_serving_untouched("runner killed while training", quiet, during)
    assert code == -signal.SIGKILL
    assert runner.nice == DEFAULT_NICENESS
    assert host.records() == before
    assert not (tmp_path / "reports").exists()


@pytest.mark.slow
def test_runner_hung_then_killed_moves_no_latency_and_leaves_no_evaluation(
    process_mesh: ProcessMesh, host: Host, quiet: Summary, tmp_path: Path
) -> None:
    """A run stopped (SIGSTOP) for 5 s while evaluating, then SIGKILLed: serving is
    untouched, and the run leaves what the runner promises and no more: its challenger
    registered and its experiment CREATED, without an evaluation or a report."""
    spec = write_spec(tmp_path / "spec.yaml", small_spec(name="isolation-hang"))
    before = host.records()
    runner = Runner(host.command(spec, tmp_path / "reports"))

    def hang() -> str:
        runner.wait_for(EVALUATING)
        runner.signal(signal.SIGSTOP)
        state = _process_state(runner.process.pid)
        time.sleep(HANG_S)
        runner.signal(signal.SIGKILL)
        runner.wait()
        return state

    try:
        during, state = _under_load(process_mesh, hang)
    finally:
        runner.stop()
    _assert_serving_untouched("runner hung, then killed", quiet, during)
    assert state == "T"  # stopped
    assert runner.process.returncode == -signal.SIGKILL
    assert runner.nice == DEFAULT_NICENESS
    after = host.records()
    (experiment_id,) = after.experiments - before.experiments
    response = host.experiment(experiment_id)
    assert not response.HasField("evaluation")
    assert response.experiment.state == records_pb2.EXPERIMENT_STATE_CREATED
    assert after.models - before.models == {response.experiment.spec.challenger_version}
    actions = [entry.action for entry in host.audit_after(before.audit_sequence)]
    assert actions == ["register_model", "create_experiment"]
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


@pytest.mark.slow
def test_runner_training_for_seconds_moves_no_latency_and_records_its_run(
    process_mesh: ProcessMesh, host: Host, quiet: Summary, tmp_path: Path
) -> None:
    """A whole run of the shipped challenger (150 users, 80 trees) beside serving:
    serving is untouched, the run records its evaluation, and it ran at the lowest
    priority with XGBoost capped at all cores but one."""
    spec = write_spec(tmp_path / "spec.yaml", _training_spec())
    before = host.records()
    runner = Runner(host.command(spec, tmp_path / "reports"))

    def train() -> tuple[int, float]:
        started = time.monotonic()
        runner.wait_for(TRAINING)
        return runner.wait(), time.monotonic() - started

    try:
        during, (code, seconds) = _under_load(process_mesh, train)
        printed = runner.stdout()
    finally:
        runner.stop()
    _assert_serving_untouched("runner training (whole run)", quiet, during)
    trained = next((line for line in runner.lines if line.startswith(TRAINED)), "")
    report("experiment isolation, the run", f"{seconds:.1f} s in all; {trained.strip()}")
    assert code == 0, "".join(runner.lines)
    assert runner.nice == DEFAULT_NICENESS
    result = json.loads(printed)
    assert host.records().experiments - before.experiments == {result["experiment_id"]}
    assert host.experiment(result["experiment_id"]).HasField("evaluation")
    assert Path(result["report_path"]).is_file()
    model = host.stub.GetModelVersion(
        pb.GetModelVersionRequest(version_id=result["challenger_version"]),
        metadata=host.metadata,
    ).model_version
    assert model.lineage.training_params["nthread"] == str(min(2, default_threads()))


def _process_state(pid: int) -> str:
    """The state letter of /proc/PID/stat (R running, S sleeping, T stopped, ...)."""
    deadline = time.monotonic() + 5
    while True:
        stat = Path(f"/proc/{pid}/stat").read_text()
        state = stat.rsplit(")", 1)[1].split()[0]
        if state == "T" or time.monotonic() > deadline:
            return state
        time.sleep(0.01)
