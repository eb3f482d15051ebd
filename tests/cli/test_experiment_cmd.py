"""`recmesh experiment create|show|list|evaluation|record-evaluation`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format

from cli.main import main
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from testkit.records import DATASET_FINGERPRINT, add_evidence, restate, spec_for
from tests.control_plane.harness import ControlPlaneHarness

SPEC = """
name: from-yaml
challenger_version: {challenger}
dataset_name: toy
dataset_fingerprint: {fingerprint}
split: "user_stratified:0.75:seed=42"
metrics: [ndcg@10, coverage]
success_metrics: [ndcg@10]
guardrails:
  - {{metric: coverage, margin: 0.02, direction: higher}}
approvals_required: 2
"""


def _create_flags(name: str, challenger: str) -> list[str]:
    """`experiment create` from flags alone: ndcg@10 (the success metric) and coverage."""
    return [
        "experiment", "create", "--name", name, "--challenger", challenger,
        "--dataset-name", "toy", "--dataset-fingerprint", DATASET_FINGERPRINT,
        "--split", "user_stratified:0.75:seed=42", "--metric", "ndcg@10", "--metric", "coverage",
        "--success-metric", "ndcg@10",
    ]  # fmt: skip


def test_create_from_spec_file_with_flag_overrides(
    control_plane: ControlPlaneHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A YAML spec creates the experiment; --name and --approvals override the file."""
    challenger = control_plane.register(control_plane.challenger_a)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(challenger=challenger, fingerprint=DATASET_FINGERPRINT))
    args = ["experiment", "create", "--spec", str(spec), "--name", "renamed", "--approvals", "1"]
    assert main([*args, "--json", *control_plane.cli_args("alice")]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["spec"]["name"] == "renamed"
    assert created["spec"]["approvals_required"] == 1
    assert created["spec"]["guardrails"] == [
        {"metric": "coverage", "margin": 0.02, "direction": "METRIC_DIRECTION_HIGHER_IS_BETTER"}
    ]
    assert created["submitted_by"] == "alice"
    assert created["state"] == "EXPERIMENT_STATE_CREATED"


def test_create_from_flags_and_list_and_show(
    control_plane: ControlPlaneHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Flags alone make a spec; list --state and show see it; record-evaluation from a file
    moves it to PASSED."""
    challenger = control_plane.register(control_plane.challenger_a)
    args = [*_create_flags("flags", challenger), "--guardrail", "coverage:0.02:higher"]
    assert main([*args, "--json", *control_plane.cli_args("alice")]) == 0
    experiment_id = json.loads(capsys.readouterr().out)["experiment_id"]

    assert main(["experiment", "list", "--state", "created", *control_plane.cli_args("bob")]) == 0
    assert experiment_id in capsys.readouterr().out

    experiment = control_plane.stub.GetExperiment(
        pb.GetExperimentRequest(experiment_id=experiment_id), metadata=control_plane.auth("bob")
    ).experiment
    evaluation_file = tmp_path / "evaluation.json"
    evaluation_file.write_text(json_format.MessageToJson(control_plane.evaluation(experiment)))
    args = ["experiment", "record-evaluation", str(evaluation_file)]
    assert main([*args, *control_plane.cli_args("alice")]) == 0
    assert capsys.readouterr().out.strip() == f"recorded evaluation of {experiment_id}: PASS"

    assert main(["experiment", "show", experiment_id, *control_plane.cli_args("bob")]) == 0
    shown = capsys.readouterr().out
    assert f"{experiment_id}  flags  [passed]" in shown
    assert "evaluation  PASS by alice" in shown
    assert main(["experiment", "evaluation", experiment_id, *control_plane.cli_args("bob")]) == 0
    assert "VERDICT_PASS" in capsys.readouterr().out


def test_bad_guardrail_flag_exits_2(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed --guardrail is a usage error before any call."""
    args = ["experiment", "create", "--guardrail", "coverage", *control_plane.cli_args("alice")]
    assert main(args) == 2
    assert "METRIC:MARGIN" in capsys.readouterr().err


def test_a_wrong_way_guardrail_is_refused_and_an_undeclared_one_takes_its_metrics(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """--guardrail coverage:0.02:lower is refused by the control plane (INVALID_ARGUMENT
    naming the way coverage gets better, exit 1); --guardrail popularity:0.05 without a
    direction is recorded lower-is-better, popularity's own direction."""
    challenger = control_plane.register(control_plane.challenger_a)
    args = [*_create_flags("guarded", challenger), "--metric", "popularity"]
    wrong = [*args, "--guardrail", "coverage:0.02:lower", *control_plane.cli_args("alice")]
    assert main(wrong) == 1
    assert capsys.readouterr().err.startswith(
        "INVALID_ARGUMENT: guardrail 'coverage': coverage gets better higher, so a guardrail "
        "on it cannot declare 'lower is better'"
    )
    undeclared = [*args, "--guardrail", "popularity:0.05", "--json"]
    assert main([*undeclared, *control_plane.cli_args("alice")]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["spec"]["guardrails"] == [
        {"metric": "popularity", "margin": 0.05, "direction": "METRIC_DIRECTION_LOWER_IS_BETTER"}
    ]


def test_server_validation_reaches_the_user(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spec the server refuses prints INVALID_ARGUMENT and the reason, exit 1."""
    challenger = control_plane.register(control_plane.challenger_a)
    args = ["experiment", "create", "--challenger", challenger, "--name", "x"]
    assert main([*args, *control_plane.cli_args("alice")]) == 1
    assert capsys.readouterr().err.startswith("INVALID_ARGUMENT: spec.dataset_name is empty")


def test_show_prints_the_p_values_and_the_holm_steps(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """With three success metrics, show prints each delta's p-value beside its interval
    (none for coverage, whose evidence has none) and Holm's steps in rank order: ndcg@10's
    p 0.03 against threshold 0.01667, adjusted 0.09, is not below 0.05."""
    spec = spec_for(control_plane.register(control_plane.challenger_a))
    spec.metrics.append("mrr@10")
    spec.success_metrics.extend(["recall@10", "mrr@10"])
    experiment = control_plane.stub.CreateExperiment(
        pb.CreateExperimentRequest(spec=spec), metadata=control_plane.auth("alice")
    ).experiment
    evaluation = control_plane.evaluation(experiment, records_pb2.VERDICT_FAIL)
    restate(evaluation, "ndcg@10", challenger=0.33, ci_low=0.001, ci_high=0.05)
    evaluation.evidence[0].p_increase = 0.03
    add_evidence(evaluation, "recall@10", champion=0.2, challenger=0.21, ci_low=-0.01,
                 ci_high=0.03, p_increase=0.4)  # fmt: skip
    add_evidence(evaluation, "mrr@10", champion=0.5, challenger=0.5, ci_low=-0.02,
                 ci_high=0.02, p_increase=0.9)  # fmt: skip
    control_plane.stub.RecordEvaluation(
        pb.RecordEvaluationRequest(evaluation=evaluation), metadata=control_plane.auth("alice")
    )
    show = ["experiment", "show", experiment.experiment_id, *control_plane.cli_args("bob")]
    assert main(show) == 0
    shown_lines = capsys.readouterr().out.splitlines()
    start = shown_lines.index("  evaluation  FAIL by alice")
    assert shown_lines[start + 1].startswith(
        "    - no success metric improved after the Holm adjustment over 3 success metrics"
    )
    assert shown_lines[start + 2 :] == [
        "    ndcg@10: +0.0300 [+0.0010, +0.0500]; p_increase 0.0300",
        "    coverage: +0.0000 [-0.0050, +0.0050]",
        "    recall@10: +0.0100 [-0.0100, +0.0300]; p_increase 0.4000",
        "    mrr@10: +0.0000 [-0.0200, +0.0200]; p_increase 0.9000",
        "    Holm over 3 success metrics (family-wise error 0.05):",
        "      1. ndcg@10    p 0.0300  threshold 0.01667  adjusted p 0.0900 is not below 0.05",
        "      2. recall@10  p 0.4000  threshold 0.025  adjusted p 0.8000 is not below 0.05",
        "      3. mrr@10     p 0.9000  threshold 0.05  adjusted p 0.9000 is not below 0.05",
        "    report file:///tmp/report.html",
    ]
