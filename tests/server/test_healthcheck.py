"""`recmesh-healthcheck` against a real server with the health service every recmesh
server has: exit 0 only on SERVING, 1 on anything else (with --alive: 0 on any answer),
and one line saying why."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest

from local_mesh.certificates import MeshCertificates, ensure_mesh_certificates
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port
from recmesh.rpc.health import HealthReporter, add_health_and_reflection
from recmesh.rpc.listen import bind_port
from recmesh.rpc.tls import TlsFiles
from recmesh.server.healthcheck import ADDRESS_ENV, HEALTHY, UNHEALTHY, main, probe_health

SERVICE = "recmesh.candidates.v1.CandidatesService"


@asynccontextmanager
async def health_server(tls: TlsFiles | None = None) -> AsyncIterator[tuple[str, HealthReporter]]:
    """A real grpc.aio server on a free loopback port with recmesh's health service (it
    starts NOT_SERVING, as every recmesh server does); yields its address and health."""
    server = grpc.aio.server()
    health = add_health_and_reflection(server, [SERVICE])
    port = bind_port(server, "127.0.0.1", 0, tls)
    await server.start()
    try:
        yield f"127.0.0.1:{port}", health
    finally:
        await server.stop(None)


async def _exit_code(argv: Sequence[str]) -> int:
    """main() run off the event loop, as the separate process it is in the image."""
    return await asyncio.to_thread(main, list(argv))


def test_exits_0_only_while_the_server_is_serving(capsys: pytest.CaptureFixture[str]) -> None:
    """NOT_SERVING before the server is ready: 1; SERVING: 0; draining: 1 again. Each
    run prints the address and the status it found."""

    async def lifecycle() -> list[int]:
        async with health_server() as (address, health):
            codes = [await _exit_code(["--address", address])]
            await health.set_serving()
            codes.append(await _exit_code(["--address", address]))
            await health.begin_draining()
            codes.append(await _exit_code(["--address", address]))
            return codes

    assert asyncio.run(lifecycle()) == [UNHEALTHY, HEALTHY, UNHEALTHY]
    lines = capsys.readouterr().err.splitlines()
    assert [line.rsplit(": ", 1)[1] for line in lines] == ["NOT_SERVING", "SERVING", "NOT_SERVING"]
    assert all(line.startswith("recmesh-healthcheck 127.0.0.1:") for line in lines)


def test_alive_exits_0_on_any_answer_and_1_only_when_nothing_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--alive: NOT_SERVING before the first version, SERVING, NOT_SERVING while
    draining all exit 0 (the process answers); a port nobody listens on exits 1."""

    async def lifecycle() -> list[int]:
        async with health_server() as (address, health):
            codes = [await _exit_code(["--alive", "--address", address])]
            await health.set_serving()
            codes.append(await _exit_code(["--alive", "--address", address]))
            await health.begin_draining()
            codes.append(await _exit_code(["--alive", "--address", address]))
            return codes

    assert asyncio.run(lifecycle()) == [HEALTHY, HEALTHY, HEALTHY]
    lines = capsys.readouterr().err.splitlines()
    assert [line.rsplit(": ", 1)[1] for line in lines] == ["NOT_SERVING", "SERVING", "NOT_SERVING"]
    nobody = f"127.0.0.1:{free_loopback_port()}"
    assert main(["--alive", "--address", nobody, "--timeout", "1"]) == UNHEALTHY
    assert "call failed: UNAVAILABLE" in capsys.readouterr().err


def test_a_named_service_is_checked_and_an_unknown_one_is_unhealthy() -> None:
    """--service asks for one service: SERVING for the server's own; a name it does not
    serve fails the call with NOT_FOUND (exit 1)."""

    async def check() -> tuple[str | None, str | None, int]:
        async with health_server() as (address, health):
            await health.set_serving()
            known = await asyncio.to_thread(probe_health, address, SERVICE)
            unknown = await asyncio.to_thread(probe_health, address, "no.such.v1.Service")
            code = await _exit_code(["--address", address, "--service", "no.such.v1.Service"])
            assert unknown.status is None
            return known.status, str(unknown.error).split(":")[0], code

    assert asyncio.run(check()) == ("SERVING", "NOT_FOUND", UNHEALTHY)


def test_no_server_listening_is_unhealthy_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing on the port: the call fails UNAVAILABLE, exit 1, not an exception."""
    address = f"127.0.0.1:{free_loopback_port()}"
    assert main(["--address", address, "--timeout", "1"]) == UNHEALTHY
    assert f"recmesh-healthcheck {address}: call failed: UNAVAILABLE" in capsys.readouterr().err


def test_the_address_comes_from_the_environment_when_not_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without --address the probe asks $RECMESH_HEALTH_ADDRESS (what the image's
    HEALTHCHECK relies on: one image, a port per server)."""

    async def check() -> int:
        async with health_server() as (address, health):
            await health.set_serving()
            monkeypatch.setenv(ADDRESS_ENV, address)
            return await _exit_code([])

    assert asyncio.run(check()) == HEALTHY


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> MeshCertificates:
    return ensure_mesh_certificates(
        tmp_path_factory.mktemp("tls"), processes=("server",), clients=("probe",), days=1
    )


def test_a_mutual_tls_server_is_checked_with_a_client_certificate(
    certificates: MeshCertificates,
) -> None:
    """With --tls-ca/--tls-cert/--tls-key the probe presents its certificate and gets
    the answer (0); without them the handshake fails and the server is unhealthy (1)."""
    probe = certificates.files("probe")
    tls_args = ["--tls-ca", str(probe.ca), "--tls-cert", str(probe.cert)]
    tls_args += ["--tls-key", str(probe.key)]

    async def check() -> tuple[int, int]:
        async with health_server(certificates.files("server")) as (address, health):
            await health.set_serving()
            with_tls = await _exit_code(["--address", address, *tls_args])
            plaintext = await _exit_code(["--address", address, "--timeout", "1"])
            return with_tls, plaintext

    assert asyncio.run(check()) == (HEALTHY, UNHEALTHY)


def test_runs_as_a_module(tmp_path: Path) -> None:
    """`python -m recmesh.server.healthcheck` is the same command (exit 1: nothing there)."""
    address = f"127.0.0.1:{free_loopback_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "recmesh.server.healthcheck", "--address", address],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO_ROOT)},
    )
    assert done.returncode == UNHEALTHY, done.stderr
    assert "call failed: UNAVAILABLE" in done.stderr
