"""A runner killed mid-evaluation leaves no evaluation behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.files.repo_paths import REPO_ROOT
from tests.offline.experiment.installation import Installation
from tests.offline.experiment.specs import small_spec, write_spec

_MARK = "evaluating the champion"
_DEADLINE_S = 120.0


def test_sigkill_during_evaluation_leaves_no_evaluation(
    installation: Installation, tmp_path: Path, ml100k_dir: Path
) -> None:
    """SIGKILL once the runner starts evaluating: the experiment stays CREATED, without an
    evaluation, a record_evaluation audit entry or a report."""
    # More users make the evaluation last long enough to be killed inside it.
    body = small_spec(dataset={"name": "ml-100k", "max_users": 400})
    spec = write_spec(tmp_path / "spec.yaml", body)
    reports = tmp_path / "reports"
    command = [
        sys.executable, "-m", "cli.main", "experiment", "run", str(spec),
        "--data-dir", str(ml100k_dir.parent), "--reports", str(reports),
        "--code-revision", "test", "--interaction-log", str(tmp_path / "interactions"),
        *installation.cli_args("alice"),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + _DEADLINE_S
    try:
        for line in process.stderr:
            seen.append(line)
            if _MARK in line:
                os.kill(process.pid, signal.SIGKILL)
                break
            if time.monotonic() > deadline:
                break
    finally:
        if process.poll() is None and not any(_MARK in line for line in seen):
            process.kill()
        process.wait(30)
    assert process.returncode == -signal.SIGKILL, "".join(seen)

    experiments = installation.stub.ListExperiments(
        pb.ListExperimentsRequest(), metadata=installation.auth("alice")
    ).experiments
    assert len(experiments) == 1
    experiment = experiments[0]
    assert experiment.state == records_pb2.EXPERIMENT_STATE_CREATED
    with pytest.raises(grpc.RpcError) as raised:
        installation.stub.GetEvaluation(
            pb.GetEvaluationRequest(experiment_id=experiment.experiment_id),
            metadata=installation.auth("alice"),
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    actions = [
        entry.action
        for entry in installation.stub.ListAuditEntries(
            pb.ListAuditEntriesRequest(), metadata=installation.auth("alice")
        ).entries
    ]
    assert "create_experiment" in actions
    assert "record_evaluation" not in actions
    assert not reports.exists() or not any(reports.iterdir())
