"""`recmesh replay`: the users it takes, and open-loop traffic against the real mesh."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from cli.main import main as cli_main
from cli.replay_traffic import parse_users
from recmesh.etcd.local_server import LocalEtcd
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import RunningMesh
from tests.services.mesh_calls import run_mesh


def test_users_are_a_range_or_a_list() -> None:
    assert parse_users("3-5") == ["3", "4", "5"]
    assert parse_users("196, 42,u7") == ["196", "42", "u7"]
    for bad, says in (("5-3", "empty"), ("a-b", "two integers"), (" , ", "no user")):
        with pytest.raises(ValueError, match=says):
            parse_users(bad)


def test_replay_sends_the_rate_and_counts_what_answered(
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """30 requests over 1 s: every one answered by the serving version, none degraded;
    a bad rate exits 2 without sending anything."""
    codes: list[int] = []
    outputs: list[str] = []

    async def scenario(mesh: RunningMesh) -> None:
        for argv in (
            ["replay", "--users", "1-50", "--rps", "30", "--duration", "1", "--json"],
            ["replay", "--rps", "0"],
        ):
            codes.append(await asyncio.to_thread(cli_main, [*argv, "--address", mesh.front]))
            outputs.append(capsys.readouterr().out)

    run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)
    assert codes == [0, 2]
    summary = json.loads(next(line for line in outputs[0].splitlines() if line.startswith("{")))
    assert summary["sent"] == 30
    assert summary["answered"] == 30
    assert summary["arms"] == {"champion": 30}
    assert summary["serving_versions"] == {serving_versions.xgboost.version_id: 30}
    assert summary["degraded"] == 0
    assert summary["failures"] == {}
    assert summary["p99_ms"] >= summary["p50_ms"] > 0


def test_an_interrupted_replay_stops_sending_and_prints_what_it_saw(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """SIGINT (what a script ending its background traffic sends) ends the schedule: the
    command exits 0 and prints the tally of the requests it had sent, not a traceback."""
    outputs: list[tuple[int | None, str, str]] = []

    async def scenario(mesh: RunningMesh) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())",
            "replay", "--users", "1-50", "--rps", "20", "--duration", "60", "--json",
            "--address", mesh.front,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await asyncio.sleep(2.0)
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), 30)
        outputs.append((process.returncode, out.decode(), err.decode()))

    run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)
    [(code, out, err)] = outputs
    assert code == 0, err
    assert "Traceback" not in err
    summary = json.loads(out.strip().splitlines()[-1])
    assert 0 < summary["sent"] < 20 * 60
    assert summary["answered"] + sum(summary["failures"].values()) == summary["sent"]
