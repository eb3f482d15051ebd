"""`recmesh experiment run` against a real control plane and etcd, end to end."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest

from cli.main import main
from offline.experiment.footprint import THREAD_POOL_VARIABLES
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.data.dataset import Dataset
from tests.offline.experiment.installation import Installation
from tests.offline.experiment.specs import small_spec, write_spec


@pytest.fixture(autouse=True)
def _thread_pool_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """`main` runs in this process: its thread-pool caps are undone after each test."""
    for name in THREAD_POOL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _run(
    installation: Installation, spec: Path, tmp_path: Path, ml100k_dir: Path
) -> list[str]:
    # --nice 0: a run lowers its own priority for good, and this one is the test process.
    return [
        "experiment", "run", str(spec), "--json", "--nice", "0",
        "--data-dir", str(ml100k_dir.parent),
        "--reports", str(tmp_path / "reports"),
        "--code-revision", "test",
        "--interaction-log", str(tmp_path / "interactions"),
        *installation.cli_args("alice"),
    ]  # fmt: skip


def test_run_records_evaluation_report_and_verdict(
    installation: Installation,
    tmp_path: Path,
    ml100k_dir: Path,
    ml100k: Dataset,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A small run registers the challenger, creates the experiment against the baseline
    champion, records one evaluation (arms, deltas, segments, verdict) and writes the
    HTML report the evaluation points to; a latency budget nobody meets makes it FAIL."""
    body = small_spec()
    body["guardrails"] = [
        {"metric": "coverage", "margin": 0.5, "direction": "higher"},
        {"metric": "latency_p99_ms", "max": 1e-6},
    ]
    spec = write_spec(tmp_path / "spec.yaml", body)

    assert main(_run(installation, spec, tmp_path, ml100k_dir)) == 0
    printed = json.loads(capsys.readouterr().out)

    assert printed["verdict"] == "FAIL"
    assert any("latency_p99_ms" in reason for reason in printed["reasons"])
    response = installation.stub.GetExperiment(
        pb.GetExperimentRequest(experiment_id=printed["experiment_id"]),
        metadata=installation.auth("bob"),
    )
    experiment, evaluation = response.experiment, response.evaluation
    assert response.HasField("evaluation")
    assert experiment.state == records_pb2.EXPERIMENT_STATE_FAILED
    assert experiment.champion_version == installation.baseline_version
    assert experiment.spec.challenger_version == printed["challenger_version"]
    assert evaluation.verdict == records_pb2.VERDICT_FAIL
    assert list(evaluation.reasons) == printed["reasons"]
    assert evaluation.recorded_by == "alice"
    assert evaluation.bootstrap_resamples == 200
    assert evaluation.seed == 7
    assert [arm.arm for arm in evaluation.arms] == ["champion", "challenger"]
    for arm in evaluation.arms:
        names = [value.metric for value in arm.metrics]
        assert names == [*body["metrics"], "latency_p99_ms"]
        for value in arm.metrics:
            assert value.ci_low <= value.value <= value.ci_high
    deltas = {delta.metric: delta for delta in evaluation.deltas}
    assert deltas["ndcg@10"].ci_low <= deltas["ndcg@10"].delta <= deltas["ndcg@10"].ci_high
    assert deltas["latency_p99_ms"].delta > 0
    assert {segment.segment for segment in evaluation.segments} <= {"cold", "light", "heavy"}
    assert sum(s.users for s in evaluation.segments if s.metric == "ndcg@10") == 150

    report = Path(urlparse(evaluation.report_uri).path)
    assert report == Path(printed["report_path"])
    html = report.read_text(encoding="utf-8")
    assert "Verdict: FAIL" in html
    assert html.count("data:image/png;base64,") >= 3
    assert printed["experiment_id"] in html

    model = installation.stub.GetModelVersion(
        pb.GetModelVersionRequest(version_id=printed["challenger_version"]),
        metadata=installation.auth("alice"),
    ).model_version
    assert model.kind == records_pb2.MODEL_KIND_XGBOOST
    assert model.lineage.split == body["split"]
    assert model.lineage.training_params["seed"] == "7"
    assert model.registered_by == "alice"
    assert model.lineage.dataset_fingerprint == experiment.spec.dataset_fingerprint
    assert ml100k.name in experiment.spec.dataset_name


def test_invalid_spec_exits_2_and_records_nothing(
    installation: Installation,
    tmp_path: Path,
    ml100k_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A spec naming an unknown metric exits 2 with the field named; no model version or
    experiment is recorded."""
    spec = write_spec(tmp_path / "spec.yaml", small_spec(success_metrics=["ndcg@11"]))
    assert main(_run(installation, spec, tmp_path, ml100k_dir)) == 2
    assert "success_metrics" in capsys.readouterr().err
    models = installation.stub.ListModelVersions(
        pb.ListModelVersionsRequest(), metadata=installation.auth("alice")
    ).model_versions
    assert [m.version_id for m in models] == [installation.baseline_version]
    experiments = installation.stub.ListExperiments(
        pb.ListExperimentsRequest(), metadata=installation.auth("alice")
    ).experiments
    assert list(experiments) == []
