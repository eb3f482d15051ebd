"""`recmesh promote --stages ...` and `recmesh rollout status|pause|resume`."""

from __future__ import annotations

import json
import threading
import time

import pytest

from cli.main import main
from recmesh.rollout.arm_counts import ArmTally
from tests.control_plane.harness import ControlPlaneHarness
from tests.control_plane.rollout_rig import RolloutRig

_STAGED = [
    "--stages", "0.05,0.25,1", "--hold", "30s", "--min-requests", "50",
    "--guardrail", "error_rate:0.01",
    "--guardrail", "latency_p99:0.02:threshold_ms=40",
    "--look-interval", "1h",
]  # fmt: skip


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.splitlines()[-1]


def test_staged_promote_status_pause_resume(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """promote with a plan starts the rollout; status prints the plan, each look's counts
    and guardrail verdicts; pause and resume say how long the stage was held."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    exp = experiment.experiment_id
    assert main(["promote", exp, *_STAGED, *cp.cli_args("olga")]) == 0
    line = _last_line(capsys)
    rollout_id = cp.pointer().rollout.rollout_id
    assert line.startswith(f"staged promotion of {exp} started: ")
    assert f"(rollout {rollout_id}, stages 0.05,0.25,1)" in line
    rig = RolloutRig(cp)
    rig.front_counts(
        rollout_id,
        0,
        ArmTally(requests=2000, slow=20, users=950),
        ArmTally(requests=100, slow=1, users=50),
    )
    rig.clock.advance(10)
    assert rig.look(exp) == "hold"
    capsys.readouterr()
    assert main(["rollout", "status", exp, *cp.cli_args("alice")]) == 0
    out = capsys.readouterr().out
    assert f"rollout {rollout_id}: running, stage 0 (share 0.05) of 0.05,0.25,1" in out
    assert "guardrail   latency_p99 margin 0.02, slower than 40 ms, alpha 0.05" in out
    assert "SRM alpha 0.001 (beta-binomial-mixture-sequential/v1)" in out
    assert "guardrail   degraded_rate margin 0.01" in out
    assert "  stage 0 (share 0.05)" in out
    assert "held 10 s: hold; held 10 s of 30 s" in out
    assert "champion    2000 requests, 0 errors, 0 degraded, 20 slow, 950 users" in out
    assert "latency_p99 HOLDING, lower bound" in out
    assert main(["rollout", "pause", exp, "--reason", "dashboards", *cp.cli_args("olga")]) == 0
    assert _last_line(capsys).startswith(f"{exp}: paused after ")
    assert main(["rollout", "resume", exp, *cp.cli_args("olga")]) == 0
    assert _last_line(capsys).startswith(f"{exp}: resumed with ")
    assert main(["rollout", "status", exp, "--json", *cp.cli_args("alice")]) == 0
    status = json.loads(_last_line(capsys))
    assert status["rollout"]["status"] == "ROLLOUT_STATUS_RUNNING"
    assert len(status["looks"]) == 1
    assert main(["experiment", "show", exp, *cp.cli_args("alice")]) == 0
    assert f"  rollout {rollout_id}: running" in capsys.readouterr().out


def test_an_invalid_plan_flag_exits_2(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unreadable flag never reaches the control plane."""
    cp = control_plane
    assert main(["promote", "exp-x", "--hold", "soon", *cp.cli_args("olga")]) == 2
    assert capsys.readouterr().err.startswith("recmesh promote: hold: 'soon' is not a duration")


def test_a_plan_the_control_plane_refuses_prints_why(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    argv = ["promote", experiment.experiment_id, "--stages", "0.5,0.2,1"]
    assert main([*argv, *cp.cli_args("olga")]) == 1
    assert capsys.readouterr().err.strip() == (
        "INVALID_ARGUMENT: stages must increase strictly: 0.2 follows 0.5"
    )


def test_status_of_an_experiment_without_a_rollout_is_not_found(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    assert main(["rollout", "status", experiment.experiment_id, *cp.cli_args("alice")]) == 1
    assert capsys.readouterr().err.startswith("NOT_FOUND: experiment ")


def test_watch_ends_with_the_rollout(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """--watch on a rollout that has ended prints its looks and the final headline once."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    exp = experiment.experiment_id
    assert main(["promote", exp, *_STAGED, *cp.cli_args("olga")]) == 0
    rollout_id = cp.pointer().rollout.rollout_id
    rig = RolloutRig(cp)
    rig.front_counts(
        rollout_id,
        0,
        ArmTally(requests=2000, slow=20, users=950),
        ArmTally(requests=100, slow=30, users=50),
    )
    assert rig.look(exp) == "rollback"
    capsys.readouterr()
    assert main(["rollout", "status", exp, "--watch", *cp.cli_args("alice")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith(f"rollout {rollout_id}: rolled back, stage 0")
    assert "latency_p99 breached" in lines[-1]
    assert any("latency_p99 BREACHED" in line for line in lines)


def test_watch_prints_the_plan_once_while_no_look_has_come(
    control_plane: ControlPlaneHarness,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A watch that asks several times before the first look prints the headline and the
    plan once, then the look and the final headline."""
    cp = control_plane
    experiment = cp.approved_experiment(cp.challenger_a)
    exp = experiment.experiment_id
    assert main(["promote", exp, *_STAGED, *cp.cli_args("olga")]) == 0
    rollout_id = cp.pointer().rollout.rollout_id
    capsys.readouterr()
    monkeypatch.setattr("cli.rollout_cmd.WATCH_SECONDS", 0.05)
    codes: list[int] = []
    watcher = threading.Thread(
        target=lambda: codes.append(
            main(["rollout", "status", exp, "--watch", *cp.cli_args("alice")])
        )
    )
    watcher.start()
    time.sleep(0.5)  # several asks find the rollout running with no look
    rig = RolloutRig(cp)
    rig.front_counts(
        rollout_id,
        0,
        ArmTally(requests=2000, slow=20, users=950),
        ArmTally(requests=100, slow=30, users=50),
    )
    assert rig.look(exp) == "rollback"
    watcher.join(30)
    assert codes == [0]
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("  plan ") for line in lines) == 1
    assert lines[0].startswith(f"rollout {rollout_id}: running, stage 0")
    assert lines[-1].startswith(f"rollout {rollout_id}: rolled back, stage 0")
