"""`recmesh recommend` against the real mesh: titles, scores, version and trace id;
`--json`; and on an error the status name and message with a non-zero exit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cli.main import main as cli_main
from recmesh.data.external_ids import external_code
from recmesh.etcd.local_server import LocalEtcd
from recmesh.net.ports import free_loopback_port
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import RunningMesh
from tests.services.mesh_calls import run_mesh
from tests.services.string_id_mesh import string_id_front


def test_recommend_prints_titles_version_and_trace_or_one_json_object(
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    codes: list[int] = []
    outputs: list[str] = []

    async def scenario(mesh: RunningMesh) -> None:
        # The CLI blocks; the mesh runs on this loop, so the CLI runs in a thread.
        for argv in (["recommend", "196", "-k", "3"], ["recommend", "196", "-k", "4", "--json"]):
            codes.append(await asyncio.to_thread(cli_main, [*argv, "--address", mesh.front]))
            outputs.append(capsys.readouterr().out)

    run_mesh(etcd_server, serving_versions, tmp_path, "xgboost", scenario)
    version = serving_versions.xgboost.version_id
    assert codes == [0, 0]
    # stdout also holds the in-process mesh's console logs; the CLI's lines are its own
    text, as_json = outputs
    lines = text[text.index("recommendations for user") :].splitlines()
    assert lines[0] == f"recommendations for user 196 (serving version {version})"
    assert [line.split(".", 1)[0].strip() for line in lines[1:4]] == ["1", "2", "3"]
    assert all("[" in line and line.rstrip().endswith("]") for line in lines[1:4])
    trace_line = next(line for line in lines if line.startswith("trace id: "))
    assert len(trace_line.split()[-1]) == 32
    answer = json.loads(next(line for line in as_json.splitlines() if line.startswith("{")))
    assert answer["serving_version"] == version
    assert answer["degraded"] is False
    assert len(answer["trace_id"]) == 32
    assert len(answer["items"]) == 4
    assert all({"item_id", "score", "title"} <= item.keys() for item in answer["items"])
    assert all(item["title"] for item in answer["items"])


def test_recommend_errors_print_status_and_message_and_exit_non_zero(
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    results: list[tuple[int, str]] = []

    async def scenario(mesh: RunningMesh) -> None:
        for argv in (
            ["recommend", "196", "-k", "0", "--address", mesh.front],
            ["recommend", "", "--json", "--address", mesh.front],
            ["recommend", "196", "--address", f"127.0.0.1:{free_loopback_port()}"],
        ):
            code = await asyncio.to_thread(cli_main, argv)
            results.append((code, capsys.readouterr().err))

    run_mesh(etcd_server, serving_versions, tmp_path, "baseline", scenario)
    (bad_k, bad_k_err), (empty, empty_err), (nobody, nobody_err) = results
    assert bad_k != 0
    assert "INVALID_ARGUMENT: k must be" in bad_k_err
    assert empty != 0
    error = json.loads(next(line for line in empty_err.splitlines() if line.startswith("{")))
    assert error["error"]["code"] == "INVALID_ARGUMENT"
    assert error["error"]["message"]
    assert nobody != 0
    assert "UNAVAILABLE: " in nobody_err


def test_recommend_prints_the_external_ids_of_string_keyed_items(
    etcd_server: LocalEtcd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A version built from a log of track URIs: each line names the track by its URI (it
    has no title), and --json carries external_id beside item_id."""
    outputs: list[str] = []

    async def scenario() -> None:
        async with string_id_front(etcd_server, tmp_path) as (front, _):
            for argv in (
                ["recommend", "listener-03", "-k", "3"],
                ["recommend", "listener-03", "--json"],
            ):
                assert await asyncio.to_thread(cli_main, [*argv, "--address", front]) == 0
                outputs.append(capsys.readouterr().out)

    asyncio.run(scenario())
    text, as_json = outputs
    lines = text[text.index("recommendations for user listener-03") :].splitlines()
    assert all("spotify:track:" in line for line in lines[1:4])
    answer = json.loads(next(line for line in as_json.splitlines() if line.startswith("{")))
    assert answer["items"]
    for item in answer["items"]:
        assert item["item_id"] == external_code(item["external_id"])
