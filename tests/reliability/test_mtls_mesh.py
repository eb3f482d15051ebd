"""The mesh with mutual TLS on every connection: real processes, real etcd, loopback only.

`LocalMesh(tls_dir=...)` is what `recmesh up --tls-dir` runs: a CA and a certificate
per process and client, every gRPC server requiring a client certificate signed by
the CA, every downstream channel and etcd client presenting one, and etcd serving
clients over mutual TLS only. The pointer names a real XGBoost version, so front ->
candidates, front -> ranking and ranking -> features are all on each Recommend's path.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from etcd3aio import Etcd3Client, EtcdError, EtcdPermissionDeniedError
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cli.main import main as cli_main
from control_plane.auth.client_tokens import load_client_tokens
from local_mesh.certificates import MeshCertificates, ensure_mesh_certificates
from local_mesh.layout import MeshLayout, MeshPorts
from local_mesh.local_mesh import LocalMesh
from local_mesh.specs import service_addresses
from recmesh.api.controlplane.v1 import control_plane_pb2, control_plane_pb2_grpc
from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.writer import WrittenBundle
from recmesh.data.loaders import load_ml100k
from recmesh.etcd.client import etcd_client
from recmesh.etcd.keys import KeySchema
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port
from recmesh.rpc.tls import TlsFiles, channel_credentials
from testkit.bundles import build_xgboost_bundle
from tests.mesh_harness import write_pointer
from tests.pointer_signing import PointerKey
from tests.reliability.load import report

pytestmark = pytest.mark.slow

SERVERS = ("recommend", "candidates", "features", "ranking", "control_plane")
USERS = tuple(str(u) for u in range(1, 21))


@dataclass
class MtlsMesh:
    mesh: LocalMesh
    xgboost: WrittenBundle
    #: Another CA, with a client certificate for "olga" that the mesh's CA did not sign.
    foreign: MeshCertificates

    @property
    def certificates(self) -> MeshCertificates:
        assert self.mesh.certificates is not None
        return self.mesh.certificates

    @property
    def etcd_endpoint(self) -> str:
        assert self.mesh.etcd is not None
        return self.mesh.etcd.endpoint

    def address(self, name: str) -> str:
        return service_addresses(self.mesh.ports)[name]


@pytest.fixture(scope="module")
def mtls_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MtlsMesh]:
    """The whole mesh with mTLS, serving a real XGBoost version."""
    if shutil.which("etcd") is None or shutil.which("openssl") is None:
        pytest.fail("etcd and openssl must be installed; run `make setup`")
    state_dir = Path(tmp_path_factory.mktemp("mtls-mesh"))
    cache = REPO_ROOT / "var" / "data" / "ml-100k"
    if cache.is_dir():
        shutil.copytree(cache, state_dir / "data" / "ml-100k")
    ports = MeshPorts(*(free_loopback_port() for _ in range(7)))
    mesh = LocalMesh(MeshLayout(state_dir), ports, tls_dir=state_dir / "tls")
    started = time.monotonic()
    mesh.start()
    try:
        report("mtls start", f"mesh SERVING over mTLS {time.monotonic() - started:.1f} s in")
        dataset = load_ml100k(mesh.layout.data / "ml-100k")
        bundle = build_xgboost_bundle(dataset, LocalArtifactStore(mesh.layout.artifacts))
        assert mesh.etcd is not None
        asyncio.run(
            write_pointer(
                mesh.etcd,
                bundle.version_id,
                bundle.manifest_sha256,
                tls=mesh.client_tls,
                key=PointerKey.from_file(mesh.layout.pointer_signing_key),
            )
        )
        foreign = ensure_mesh_certificates(
            state_dir / "foreign-tls", processes=(), clients=("olga",), days=1
        )
        started_mesh = MtlsMesh(mesh, bundle, foreign)
        _wait_for_version(started_mesh, bundle.version_id, within_s=60)
        yield started_mesh
    finally:
        mesh.stop()


def _secure_channel(address: str, tls: TlsFiles) -> grpc.Channel:
    return grpc.secure_channel(address, channel_credentials(tls))


def _recommend(channel: grpc.Channel, user: str) -> recommend_pb2.RecommendResponse:
    stub = recommend_pb2_grpc.RecommendServiceStub(channel)
    response: recommend_pb2.RecommendResponse = stub.Recommend(
        recommend_pb2.RecommendRequest(user_id=user, k=10), timeout=5
    )
    return response


def _wait_for_version(mesh: MtlsMesh, version: str, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    olga = mesh.certificates.files("olga")
    with _secure_channel(mesh.address("recommend"), olga) as channel:
        while True:
            try:
                if _recommend(channel, "196").serving_version == version:
                    return
            except grpc.RpcError:
                pass
            assert time.monotonic() < deadline, f"the front never served {version}"
            time.sleep(0.2)


# -- clients that must be refused --------------------------------------------------------


def _plaintext(mesh: MtlsMesh, address: str) -> grpc.Channel:
    return grpc.insecure_channel(address)


def _tls_without_certificate(mesh: MtlsMesh, address: str) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(mesh.certificates.ca.read_bytes())
    return grpc.secure_channel(address, credentials)


def _certificate_from_another_ca(mesh: MtlsMesh, address: str) -> grpc.Channel:
    """Trusts the mesh's CA (so the server's certificate checks out) but presents a
    certificate for olga signed by a different CA."""
    foreign = mesh.foreign.files("olga")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=mesh.certificates.ca.read_bytes(),
        private_key=foreign.key.read_bytes(),
        certificate_chain=foreign.cert.read_bytes(),
    )
    return grpc.secure_channel(address, credentials)


REFUSED_CLIENTS: dict[str, Callable[[MtlsMesh, str], grpc.Channel]] = {
    "plaintext": _plaintext,
    "tls-without-certificate": _tls_without_certificate,
    "certificate-from-another-ca": _certificate_from_another_ca,
}


def _health_error(channel: grpc.Channel) -> grpc.RpcError:
    try:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    except grpc.RpcError as exc:
        return exc
    raise AssertionError("the health check succeeded; the client should have been refused")


def _code(error: grpc.RpcError) -> grpc.StatusCode:
    assert isinstance(error, grpc.Call)
    code: grpc.StatusCode = error.code()
    return code


# -- tests ---------------------------------------------------------------------------------


def test_recommend_with_a_client_certificate_is_answered_whole(
    mtls_mesh: MtlsMesh, capsys: pytest.CaptureFixture[str]
) -> None:
    """`recmesh recommend --tls-*` with olga's certificate gets 10 items from the XGBoost
    version, not degraded; so do 20 users over one mTLS channel."""
    olga = mtls_mesh.certificates.files("olga")
    code = cli_main(
        [
            "recommend", "196", "--json",
            "--address", mtls_mesh.address("recommend"),
            "--tls-ca", str(olga.ca), "--tls-cert", str(olga.cert), "--tls-key", str(olga.key),
        ]
    )  # fmt: skip
    answer = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (answer["serving_version"], answer["degraded"]) == (mtls_mesh.xgboost.version_id, False)
    assert len(answer["items"]) == 10
    latencies = []
    with _secure_channel(mtls_mesh.address("recommend"), olga) as channel:
        for user in USERS:
            started = time.monotonic()
            response = _recommend(channel, user)
            latencies.append(time.monotonic() - started)
            assert response.serving_version == mtls_mesh.xgboost.version_id
            assert (len(response.items), response.degraded) == (10, False), response
    with capsys.disabled():
        report(
            "mtls recommend",
            f"{len(USERS)} of {len(USERS)} whole over mTLS, slowest {max(latencies) * 1000:.0f} ms",
        )


def test_cli_without_all_three_tls_files_is_a_usage_error(
    mtls_mesh: MtlsMesh, capsys: pytest.CaptureFixture[str]
) -> None:
    """A client given --tls-cert but not --tls-key exits 2 naming the missing options,
    rather than falling back to plaintext."""
    olga = mtls_mesh.certificates.files("olga")
    code = cli_main(
        [
            "recommend", "196",
            "--address", mtls_mesh.address("recommend"),
            "--tls-ca", str(olga.ca), "--tls-cert", str(olga.cert),
        ]
    )  # fmt: skip
    assert code == 2
    assert "--tls-ca, --tls-cert and --tls-key together" in capsys.readouterr().err


@pytest.mark.parametrize("client", sorted(REFUSED_CLIENTS))
@pytest.mark.parametrize("server", SERVERS)
def test_every_server_refuses_a_client_without_a_certificate_from_the_ca(
    mtls_mesh: MtlsMesh, server: str, client: str
) -> None:
    """A plaintext client, a TLS client with no certificate and one whose certificate
    another CA signed all fail the handshake on every gRPC server: UNAVAILABLE, before
    any handler (health included) runs."""
    with REFUSED_CLIENTS[client](mtls_mesh, mtls_mesh.address(server)) as channel:
        assert _code(_health_error(channel)) == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("client", sorted(REFUSED_CLIENTS))
def test_recommend_refuses_a_client_without_a_certificate_from_the_ca(
    mtls_mesh: MtlsMesh, client: str
) -> None:
    """The Recommend call itself, from each refused client, is UNAVAILABLE."""
    channel = REFUSED_CLIENTS[client](mtls_mesh, mtls_mesh.address("recommend"))
    with channel, pytest.raises(grpc.RpcError) as raised:
        _recommend(channel, "196")
    assert _code(raised.value) == grpc.StatusCode.UNAVAILABLE


def test_control_plane_names_the_certificate_and_reads_etcd_over_mtls(
    mtls_mesh: MtlsMesh,
) -> None:
    """Over mTLS the control plane's principal is the certificate's CN (olga), and its
    pointer read (through its own mTLS etcd client) names the XGBoost version."""
    with _secure_channel(
        mtls_mesh.address("control_plane"), mtls_mesh.certificates.files("olga")
    ) as channel:
        stub = control_plane_pb2_grpc.ControlPlaneServiceStub(channel)
        whoami = stub.WhoAmI(control_plane_pb2.WhoAmIRequest(), timeout=5)
        pointer = stub.GetPointer(control_plane_pb2.GetPointerRequest(), timeout=5).pointer
    assert whoami.principal == "olga"
    assert pointer.serving_version == mtls_mesh.xgboost.version_id


async def _etcd_get(client: Etcd3Client, key: str) -> bytes | None:
    async with client:
        assert client.kv is not None
        response = await client.kv.get(key, timeout=3)
        return bytes(response.kvs[0].value) if response.kvs else None


def test_etcd_serves_only_clients_with_a_certificate_from_the_ca(mtls_mesh: MtlsMesh) -> None:
    """etcd answers a client presenting a serving process's certificate (CN
    recmesh-serving, an etcd user); a plaintext client, a TLS client without a certificate
    and one with another CA's certificate get no answer."""
    endpoint = mtls_mesh.etcd_endpoint
    pointer_key = KeySchema().pointer
    serving = mtls_mesh.certificates.files("recommend")
    value = asyncio.run(_etcd_get(etcd_client([endpoint], serving), pointer_key))
    assert value is not None
    assert mtls_mesh.xgboost.version_id.encode() in value
    ca = mtls_mesh.certificates.ca.read_bytes()
    foreign = mtls_mesh.foreign.files("olga")
    refused = {
        "plaintext": Etcd3Client([endpoint], rpc_max_attempts=1),
        "tls-without-certificate": Etcd3Client([endpoint], rpc_max_attempts=1, ca_cert=ca),
        "certificate-from-another-ca": Etcd3Client(
            [endpoint],
            rpc_max_attempts=1,
            ca_cert=ca,
            cert_key=foreign.key.read_bytes(),
            cert_chain=foreign.cert.read_bytes(),
        ),
    }
    for name, client in refused.items():
        with pytest.raises(EtcdError):
            asyncio.run(_etcd_get(client, pointer_key))
        report("mtls etcd", f"{name} client refused")


async def _etcd_put(client: Etcd3Client, key: str, value: bytes) -> None:
    async with client:
        assert client.kv is not None
        await client.kv.put(key, value, timeout=3)


def test_etcd_refuses_pointer_writes_from_people_and_serving(mtls_mesh: MtlsMesh) -> None:
    """Over mutual TLS etcd takes the certificate's CN as its user: the pointer written
    with a person's certificate (olga the operator, alice), the mesh's own client
    certificate, or a serving process's certificate (read-only) is refused, and the
    pointer is unchanged; the control plane's certificate may write."""
    endpoint = mtls_mesh.etcd_endpoint
    pointer_key = KeySchema().pointer
    serving = etcd_client([endpoint], mtls_mesh.certificates.files("ranking"))
    before = asyncio.run(_etcd_get(serving, pointer_key))
    forged = b'{"servingVersion": "sv-forged"}'
    for name in ("olga", "alice", "recmesh-up", "recommend"):
        client = etcd_client([endpoint], mtls_mesh.certificates.files(name))
        with pytest.raises(EtcdPermissionDeniedError):
            asyncio.run(_etcd_put(client, pointer_key, forged))
        report("mtls etcd", f"pointer write with the {name} certificate refused")
    for name in ("olga", "alice"):
        client = etcd_client([endpoint], mtls_mesh.certificates.files(name))
        with pytest.raises(EtcdPermissionDeniedError):
            asyncio.run(_etcd_get(client, pointer_key))
    after = asyncio.run(
        _etcd_get(etcd_client([endpoint], mtls_mesh.certificates.files("ranking")), pointer_key)
    )
    assert after == before
    probe_key = KeySchema().prefix + "/authorization-probe"
    control_plane = etcd_client([endpoint], mtls_mesh.certificates.files("control_plane"))
    asyncio.run(_etcd_put(control_plane, probe_key, b"written by the control plane's CN"))


def _tokens(mesh: MtlsMesh) -> dict[str, str]:
    return load_client_tokens(mesh.mesh.layout.credentials / "tokens")


def _secrets(mesh: MtlsMesh) -> list[str]:
    """Every client token, and every line of base64 in every private key file."""
    tokens = list(_tokens(mesh).values())
    key_lines = [
        line
        for directory in (mesh.certificates.directory, mesh.foreign.directory)
        for key_file in directory.glob("*.key")
        for line in key_file.read_text().splitlines()
        if line and not line.startswith("-----")
    ]
    return tokens + key_lines


def test_no_private_key_or_token_appears_in_any_log(mtls_mesh: MtlsMesh) -> None:
    """After calls that carry a real bearer token (over mTLS and refused ones), and after
    the mesh has stopped (every log flushed): no process log, nor the span file,
    contains a token, a line of any private key, or a PEM private-key header.

    Stops the mesh, so it runs last."""
    metadata = (("authorization", f"Bearer {_tokens(mtls_mesh)['alice']}"),)
    olga = mtls_mesh.certificates.files("olga")
    with _secure_channel(mtls_mesh.address("recommend"), olga) as channel:
        stub = recommend_pb2_grpc.RecommendServiceStub(channel)
        stub.Recommend(recommend_pb2.RecommendRequest(user_id="7", k=5), metadata=metadata)
    with _secure_channel(mtls_mesh.address("control_plane"), olga) as channel:
        stub_cp = control_plane_pb2_grpc.ControlPlaneServiceStub(channel)
        stub_cp.WhoAmI(control_plane_pb2.WhoAmIRequest(), metadata=metadata, timeout=5)
    channel = _plaintext(mtls_mesh, mtls_mesh.address("control_plane"))
    with channel, pytest.raises(grpc.RpcError):
        control_plane_pb2_grpc.ControlPlaneServiceStub(channel).WhoAmI(
            control_plane_pb2.WhoAmIRequest(), metadata=metadata, timeout=5
        )
    mtls_mesh.mesh.stop()
    layout = mtls_mesh.mesh.layout
    logs = [*sorted(layout.logs.glob("*.log")), layout.span_file]
    assert len(logs) >= 7, logs  # etcd, control plane, four services, spans
    secrets = _secrets(mtls_mesh)
    leaks: list[str] = []
    for path in logs:
        text = path.read_text(errors="replace")
        if re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", text):
            leaks.append(f"{path.name}: a PEM private key")
        leaks += [f"{path.name}: secret #{i}" for i, s in enumerate(secrets) if s in text]
    assert leaks == []
    report(
        "mtls logs",
        f"{len(logs)} logs ({sum(p.stat().st_size for p in logs) // 1024} KiB) scanned for "
        f"{len(secrets)} token and key strings: {len(leaks)} found",
    )
