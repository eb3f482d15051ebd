"""The TLS configuration shape: all three files or none, clear errors naming the bad
file, keys kept out of repr, and a downstream channel that checks its replica's
certificate."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from local_mesh.certificates import MeshCertificates, ensure_mesh_certificates
from recmesh.rpc.listen import bind_port
from recmesh.rpc.tls import TlsConfigError, TlsFiles, shared_host, tls_files
from services.common.channels import downstream_channel


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> MeshCertificates:
    return ensure_mesh_certificates(
        tmp_path_factory.mktemp("tls"), processes=("server",), clients=("client",), days=1
    )


def test_no_tls_options_mean_plaintext() -> None:
    """None of the three paths: no TLS."""
    assert tls_files(None, None, None) is None


@pytest.mark.parametrize(
    "given", [(Path("ca.pem"), None, None), (Path("ca.pem"), Path("c.pem"), None)]
)
def test_some_but_not_all_tls_options_are_refused(
    given: tuple[Path | None, Path | None, Path | None],
) -> None:
    """One or two of the three paths is an error, never a silent fallback to plaintext."""
    with pytest.raises(TlsConfigError, match="--tls-ca, --tls-cert and --tls-key together"):
        tls_files(*given)


def test_a_missing_file_is_named(certificates: MeshCertificates, tmp_path: Path) -> None:
    """Loading names the missing file and the role it plays."""
    files = certificates.files("server")
    missing = TlsFiles(ca=files.ca, cert=files.cert, key=tmp_path / "absent.key")
    with pytest.raises(TlsConfigError) as raised:
        missing.load()
    assert str(raised.value) == (
        f"cannot read the TLS private key {tmp_path / 'absent.key'}: No such file or directory"
    )


def test_a_certificate_given_as_the_key_is_refused(certificates: MeshCertificates) -> None:
    """A PEM file of the wrong kind is refused by name, its content not quoted."""
    files = certificates.files("server")
    with pytest.raises(TlsConfigError, match="is not a PEM file holding a private key") as raised:
        TlsFiles(ca=files.ca, cert=files.cert, key=files.cert).load()
    assert "BEGIN" not in str(raised.value)


def test_loaded_material_keeps_the_key_out_of_repr(certificates: MeshCertificates) -> None:
    """repr of the loaded files (what a log line would show) has no key bytes."""
    material = certificates.files("server").load()
    assert b"PRIVATE KEY" in material.key
    assert "PRIVATE KEY" not in repr(material)
    assert material.key.decode().splitlines()[1] not in repr(material)


def test_shared_host_of_replicas() -> None:
    """Replicas on one host share its name; replicas on two hosts have none."""
    assert shared_host(["127.0.0.1:1", "127.0.0.1:2"]) == "127.0.0.1"
    with pytest.raises(TlsConfigError, match="on one host"):
        shared_host(["127.0.0.1:1", "localhost:2"])


async def _tls_replica_answers(certificates: MeshCertificates, tls_name: str | None = None) -> int:
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(HealthServicer(), server)
    port = bind_port(server, "127.0.0.1", 0, certificates.files("server"))
    await server.start()
    channel = downstream_channel(f"127.0.0.1:{port}", certificates.files("client"), tls_name)
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        response = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        return int(response.status)
    finally:
        await channel.close(None)
        await server.stop(None)


def test_downstream_channel_to_a_tls_replica_passes_its_certificate_check(
    certificates: MeshCertificates,
) -> None:
    """A downstream channel to an mTLS replica checks the server's certificate and host
    and presents the client's: the call succeeds."""
    status = asyncio.run(_tls_replica_answers(certificates))
    assert status == health_pb2.HealthCheckResponse.SERVING


def test_a_resolved_replica_is_checked_against_the_name_it_was_resolved_from(
    certificates: MeshCertificates,
) -> None:
    """With tls_name, the replica's certificate must name it (not the IP dialled): the
    certificate's localhost passes, a name it does not hold fails."""
    assert (
        asyncio.run(_tls_replica_answers(certificates, "localhost"))
        == health_pb2.HealthCheckResponse.SERVING
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        asyncio.run(_tls_replica_answers(certificates, "recmesh-ranking"))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
