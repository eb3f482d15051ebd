"""Who a caller is: bearer tokens locally, client certificates with mutual TLS.

Certificates are made for the test with local_mesh.certificates (the openssl
command line), as `recmesh up --tls-dir` makes them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from cli.main import main as cli_main
from control_plane.config import TlsFiles
from local_mesh.certificates import create_ca, issue_certificate
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import control_plane_pb2_grpc
from recmesh.etcd.local_server import LocalEtcd
from tests.control_plane.harness import (
    ControlPlaneHarness,
    code_of,
    details_of,
    rpc_error,
    running_control_plane,
)


def _ca(directory: Path, name: str) -> None:
    create_ca(directory, name, days=1)


def _leaf(directory: Path, ca: str, name: str, extensions: str) -> None:
    issue_certificate(directory, ca, name, extensions, days=1)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA with a server certificate (localhost, 127.0.0.1) and client certificates for
    olga (a known principal) and mallory (unknown), plus olga's twin from a foreign CA."""
    directory = tmp_path_factory.mktemp("pki")
    _ca(directory, "ca")
    _ca(directory, "foreign-ca")
    _leaf(
        directory, "ca", "server",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )  # fmt: skip
    for client in ("olga", "mallory"):
        _leaf(directory, "ca", client, "extendedKeyUsage=clientAuth\n")
    (directory / "twin").mkdir()
    for suffix in ("pem", "key"):
        (directory / "twin" / f"foreign-ca.{suffix}").write_bytes(
            (directory / f"foreign-ca.{suffix}").read_bytes()
        )
    _leaf(directory / "twin", "foreign-ca", "olga", "extendedKeyUsage=clientAuth\n")
    return directory


def _secure(pki: Path, client: str | None, address: str, certs: Path | None = None) -> grpc.Channel:
    """A channel trusting pki's CA, presenting the client's certificate from certs (default
    pki), or none."""
    certs = certs or pki
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(pki / "ca.pem").read_bytes(),
        private_key=None if client is None else (certs / f"{client}.key").read_bytes(),
        certificate_chain=None if client is None else (certs / f"{client}.pem").read_bytes(),
    )
    return grpc.secure_channel(address, credentials)


@pytest.fixture
def mtls_control_plane(
    shared_etcd: LocalEtcd, tmp_path: Path, pki: Path
) -> Iterator[ControlPlaneHarness]:
    tls = TlsFiles(ca=pki / "ca.pem", cert=pki / "server.pem", key=pki / "server.key")
    connect: Callable[[str], grpc.Channel] = functools.partial(_secure, pki, "olga")
    with running_control_plane(shared_etcd, tmp_path, tls=tls, connect=connect) as cp:
        yield cp


def _whoami(channel: grpc.Channel) -> pb.WhoAmIResponse:
    stub = control_plane_pb2_grpc.ControlPlaneServiceStub(channel)
    response: pb.WhoAmIResponse = stub.WhoAmI(pb.WhoAmIRequest(), timeout=5)
    return response


def test_token_identifies_its_principal(control_plane: ControlPlaneHarness) -> None:
    """WhoAmI with bob's token answers bob and his roles."""
    response = control_plane.stub.WhoAmI(pb.WhoAmIRequest(), metadata=control_plane.auth("bob"))
    assert (response.principal, list(response.roles)) == ("bob", ["reviewer"])


def test_client_certificate_names_the_principal(
    mtls_control_plane: ControlPlaneHarness,
) -> None:
    """Over mTLS the certificate's CN is the principal, with its roles from the principals
    file: olga may promote-level calls without any token."""
    response = _whoami(mtls_control_plane.channel)
    assert (response.principal, list(response.roles)) == ("olga", ["operator"])
    pointer = mtls_control_plane.stub.GetPointer(pb.GetPointerRequest(), timeout=5).pointer
    assert pointer.serving_version == mtls_control_plane.baseline.version_id


def test_client_without_certificate_is_rejected(
    mtls_control_plane: ControlPlaneHarness, pki: Path
) -> None:
    """A TLS client that presents no certificate fails the handshake: no call gets through."""
    with _secure(pki, None, mtls_control_plane.address) as channel:
        error = rpc_error(_whoami, channel)
    assert code_of(error) == grpc.StatusCode.UNAVAILABLE


def test_certificate_of_another_ca_is_rejected(
    mtls_control_plane: ControlPlaneHarness, pki: Path
) -> None:
    """A certificate for 'olga' signed by a foreign CA fails the handshake."""
    with _secure(pki, "olga", mtls_control_plane.address, certs=pki / "twin") as channel:
        error = rpc_error(_whoami, channel)
    assert code_of(error) == grpc.StatusCode.UNAVAILABLE


def test_certificate_of_unknown_principal_is_unauthenticated(
    mtls_control_plane: ControlPlaneHarness, pki: Path
) -> None:
    """A valid certificate whose CN is not in the principals file is UNAUTHENTICATED."""
    with _secure(pki, "mallory", mtls_control_plane.address) as channel:
        error = rpc_error(_whoami, channel)
    assert code_of(error) == grpc.StatusCode.UNAUTHENTICATED
    assert "'mallory' does not name a known principal" in details_of(error)


def test_cli_uses_the_client_certificate(
    mtls_control_plane: ControlPlaneHarness, pki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`recmesh whoami` with --tls-* options is olga, whatever --as says."""
    code = cli_main(
        [
            "whoami",
            "--control-plane", mtls_control_plane.address,
            "--tls-ca", str(pki / "ca.pem"),
            "--tls-cert", str(pki / "olga.pem"),
            "--tls-key", str(pki / "olga.key"),
            "--as", "alice",
        ]
    )  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out.strip() == "olga (operator)"
