"""`recmesh shadow start|stop|report`: against a real control plane."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from recmesh.etcd.local_server import LocalEtcd
from tests.control_plane.harness import ControlPlaneHarness, running_control_plane
from tests.control_plane.shadow_log import write_shadow_log


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    # The in-process server logs to stdout too; the command's own line is the last one.
    return capsys.readouterr().out.splitlines()[-1]


def test_start_and_stop_print_the_pointer(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """start names the challenger, its share and the rollout; stop says the champion
    serves alone; a second stop is FAILED_PRECONDITION on stderr, exit 1."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    exp = experiment.experiment_id
    assert main(["shadow", "start", exp, "--share", "0.2", *cp.cli_args("olga")]) == 0
    pointer = cp.pointer()
    assert _last_line(capsys) == (
        f"shadow of {exp} started: {experiment.spec.challenger_version} ranks 0.2 of users "
        f"beside {pointer.serving_version} (rollout {pointer.rollout.rollout_id}, pointer "
        f"revision {pointer.revision})"
    )
    assert main(["shadow", "stop", exp, "--reason", "enough", *cp.cli_args("olga")]) == 0
    assert _last_line(capsys).startswith(f"shadow of {exp} stopped: ")
    assert main(["shadow", "stop", exp, *cp.cli_args("olga")]) == 1
    assert capsys.readouterr().err.startswith(f"FAILED_PRECONDITION: experiment {exp} is not in")


def test_report_computed_here_is_written_printed_and_attached(
    control_plane: ControlPlaneHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--impressions computes locally: the page and summary are written, the overlap is
    printed with its interval, and --attach records it (experiment show shows it)."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    exp = experiment.experiment_id
    log = write_shadow_log(
        tmp_path / "impressions.jsonl",
        experiment.champion_version,
        experiment.spec.challenger_version,
        [([1, 2, 3], [1, 2, 4]), ([5, 6, 7], [5, 6, 7])],
    )
    out = tmp_path / "report"
    argv = ["shadow", "report", exp, "--impressions", str(log), "--k", "3", "--out", str(out)]
    assert main([*argv, "--attach", *cp.cli_args("alice")]) == 0
    printed = capsys.readouterr().out
    assert f"shadow report of {exp}: {out / 'shadow-report.html'}" in printed
    assert "overlap@k            0.8333 [" in printed
    assert "attached    by alice" in printed
    assert "supplied by the caller; not usable for shadow bounds" in printed
    summary = json.loads((out / "shadow-summary.json").read_text())
    assert summary["compared"] == 2
    assert (out / "shadow-report.html").read_text().startswith("<!DOCTYPE html>")
    assert main(["experiment", "show", exp, *cp.cli_args("alice")]) == 0
    shown = capsys.readouterr().out
    assert "shadow      report" in shown
    assert "attached by alice" in shown


def test_report_from_the_control_plane(
    shared_etcd: LocalEtcd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --impressions the control plane computes it from its own log."""
    log = tmp_path / "impressions.jsonl"
    with running_control_plane(shared_etcd, tmp_path / "cp", impressions=(log,)) as cp:
        experiment = cp.approved_experiment(cp.challenger_a)
        write_shadow_log(
            log, experiment.champion_version, experiment.spec.challenger_version, [([1], [2])]
        )
        out = tmp_path / "report"
        argv = ["shadow", "report", experiment.experiment_id, "--out", str(out), "--json"]
        assert main([*argv, *cp.cli_args("bob")]) == 0
        printed = json.loads(_last_line(capsys))
        assert printed["summary"]["requests"] == 1
        assert printed["attached"] is None
        assert (out / "shadow-report.html").exists()


def test_attach_without_impressions_attaches_the_control_planes_own_report(
    shared_etcd: LocalEtcd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--attach` without --impressions: the control plane computes and attaches it (the
    kind shadow bounds accept); the page and summary it computed are written here."""
    log = tmp_path / "impressions.jsonl"
    with running_control_plane(shared_etcd, tmp_path / "cp", impressions=(log,)) as cp:
        experiment = cp.approved_experiment(cp.challenger_a)
        write_shadow_log(
            log, experiment.champion_version, experiment.spec.challenger_version, [([1], [2])]
        )
        out = tmp_path / "report"
        argv = ["shadow", "report", experiment.experiment_id, "--out", str(out), "--attach"]
        assert main([*argv, *cp.cli_args("alice")]) == 0
        printed = capsys.readouterr().out
        assert f"computed by the control plane for {experiment.spec.challenger_version}" in printed
        assert "usable for shadow bounds" in printed
        assert json.loads((out / "shadow-summary.json").read_text())["requests"] == 1
        assert (out / "shadow-report.html").read_text().startswith("<!DOCTYPE html>")
        assert cp.audit_entries()[-1].details["source"] == "control_plane"


def test_report_without_records_says_so(
    control_plane: ControlPlaneHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log holding none of the experiment's pairs: a message naming the log, exit 1."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    log = write_shadow_log(tmp_path / "other.jsonl", "v-a", "v-b", [([1], [2])])
    argv = ["shadow", "report", experiment.experiment_id, "--impressions", str(log)]
    assert main([*argv, "--out", str(tmp_path / "r"), *cp.cli_args("alice")]) == 1
    assert "no shadowed request of" in capsys.readouterr().err
