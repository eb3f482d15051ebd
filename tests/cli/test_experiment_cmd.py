"""`recmesh experiment create|show|list|evaluation|record-evaluation`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format

from cli.main import main
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from testkit.records import DATASET_FINGERPRINT
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
