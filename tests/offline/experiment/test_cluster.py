"""Training with xgboost.dask and per-user metrics on Dask workers (a local cluster of two
worker processes) reach the single-process path's verdict, and the lineage says how.

One local cluster serves the module: the pipeline runs on it as a spec with
`local_workers: 2` starts it, and `recmesh experiment run` connects to it by address."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from offline.experiment.arms import Arm, run_arm
from offline.experiment.cluster import ClusterError, open_cluster
from offline.experiment.engine import Engine
from offline.experiment.footprint import THREAD_POOL_VARIABLES
from offline.experiment.measure import Measurement, decision_rule
from offline.experiment.pipeline import (
    Challenger,
    PreparedData,
    evaluate_arms,
    prepare_data,
    train_challenger,
)
from offline.experiment.record import lineage
from offline.experiment.spec import ComputeSpec, ExperimentRunSpec
from offline.experiment.spec_loading import parse_spec
from offline.metrics.evaluate import evaluate_per_user
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.console.progress import NullProgress
from recmesh.snapshot.build import build_snapshot
from tests.offline.experiment.installation import Installation
from tests.offline.experiment.specs import small_spec, write_spec

#: How far a metric of the distributed run may be from the single-process one: the two
#: models differ (per-worker sketches and row sampling), not the way they are measured.
METRIC_TOLERANCE = 0.02


@dataclass(frozen=True)
class Runs:
    """The same spec run twice (in this process, on the cluster); the cluster's engine and
    its scheduler's address."""

    spec: ExperimentRunSpec
    data: PreparedData
    single: tuple[Challenger, Measurement]
    distributed: tuple[Challenger, Measurement]
    engine: Engine
    scheduler: str


@pytest.fixture(scope="module")
def runs(ml100k_dir: Path) -> Iterator[Runs]:
    """The small spec (150 users, 15 trees) run in this process and on two Dask workers,
    against the same baseline champion; the cluster stays up for the module's tests."""
    progress = NullProgress()
    spec = parse_spec(small_spec(compute={"local_workers": 2}))
    data = prepare_data(spec, ml100k_dir.parent, progress)
    baseline = Arm("champion", "baseline", build_snapshot(data.dataset, data.train), None)
    here = train_challenger(spec, data, progress)
    rule = decision_rule(spec)
    single = here, evaluate_arms(spec, rule, data, here.arm, baseline, progress).measurement
    with open_cluster(spec.compute, progress) as cluster:
        engine = Engine(train=cluster.train, per_user=cluster.per_user)
        there = train_challenger(spec, data, progress, engine=engine)
        measured = evaluate_arms(spec, rule, data, there.arm, baseline, progress, engine=engine)
        address = str(cluster.client.scheduler_info()["address"])
        yield Runs(spec, data, single, (there, measured.measurement), engine, address)


def test_distributed_training_reaches_the_same_verdict(runs: Runs) -> None:
    """The verdict (and which success metrics passed, which guardrails held) is the single
    process's; every bootstrapped figure is within METRIC_TOLERANCE of it."""
    (_, single), (_, distributed) = runs.single, runs.distributed
    assert single.decision.verdict == distributed.decision.verdict
    assert single.decision.passed_success_metrics == distributed.decision.passed_success_metrics
    assert single.users == distributed.users == runs.data.test_users.shape[0]
    for metric in runs.spec.bootstrapped_metrics:
        one, other = single.deltas[metric], distributed.deltas[metric]
        assert abs(one.delta - other.delta) < METRIC_TOLERANCE, metric
        assert abs(one.challenger - other.challenger) < METRIC_TOLERANCE, metric
        assert one.champion == other.champion, metric  # the same champion, measured alike


def test_the_lineage_records_how_the_challenger_was_trained(runs: Runs) -> None:
    """xgboost.dask on a local cluster of two one-thread workers, with the libraries'
    versions; the single-process lineage says plain xgboost."""
    (here, _), (there, _) = runs.single, runs.distributed
    params = lineage(runs.spec, "rev", {}, there.trained.engine).training_params
    assert params["engine"] == "xgboost.dask"
    assert params["dask_cluster"] == "local, 2 worker processes"
    assert params["dask_workers"] == "2"
    assert params["dask_threads_per_worker"] == "1"
    assert params["nthread"] == "1"
    versions = params["engine_versions"]
    assert "xgboost 3.2.0" in versions
    assert "dask 2026.8.0" in versions
    assert "distributed 2026.8.0" in versions
    local = lineage(runs.spec, "rev", {}, here.trained.engine).training_params
    assert local["engine"] == "xgboost"
    assert "dask_cluster" not in local
    assert there.trained.trees == here.trained.trees == 15


def test_per_user_metrics_on_the_workers_equal_the_in_process_ones(runs: Runs) -> None:
    """The same lists give the same users and the same values, to the bit, whether the
    users' chunks are computed by the workers or here."""
    here, _ = runs.single
    lists = run_arm(here.arm, runs.data.test_users, runs.spec.k, NullProgress())
    args = (lists.topk, runs.data.test, runs.data.train, runs.data.dataset.items, runs.spec.k)
    local, remote = evaluate_per_user(*args), runs.engine.per_user(*args)
    assert np.array_equal(local.users, remote.users)
    assert local.names == remote.names
    for name in local.names:
        assert np.array_equal(local.values[name], remote.values[name]), name


def test_an_unreachable_scheduler_is_a_cluster_error() -> None:
    """A scheduler address nothing listens on fails the run with the address named."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with (
        pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler {address}"),
        open_cluster(ComputeSpec(dask=address), NullProgress(), timeout_s=1),
    ):
        pass


def test_a_run_on_a_scheduler_records_the_verdict_and_the_lineage(
    runs: Runs,
    installation: Installation,
    tmp_path: Path,
    ml100k_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`recmesh experiment run` with `compute: {dask: ADDRESS}` against the real control
    plane records the single-process verdict, and the registered version's lineage names
    the engine, the scheduler and its two workers."""
    for name in THREAD_POOL_VARIABLES:  # main runs here: its caps are undone after
        monkeypatch.delenv(name, raising=False)
    spec = write_spec(tmp_path / "spec.yaml", small_spec(compute={"dask": runs.scheduler}))
    args = [
        "experiment", "run", str(spec), "--json", "--nice", "0",
        "--data-dir", str(ml100k_dir.parent), "--reports", str(tmp_path / "reports"),
        "--code-revision", "test", *installation.cli_args("alice"),
    ]  # fmt: skip
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["verdict"] == runs.single[1].decision.verdict.value
    model = installation.stub.GetModelVersion(
        pb.GetModelVersionRequest(version_id=printed["challenger_version"]),
        metadata=installation.auth("alice"),
    ).model_version
    params = model.lineage.training_params
    assert params["engine"] == "xgboost.dask"
    assert params["dask_cluster"] == runs.scheduler
    assert params["dask_workers"] == "2"
    assert params["seed"] == "7"
