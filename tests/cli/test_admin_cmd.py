"""`recmesh admin backup --out FILE` and `recmesh admin restore --from FILE --data-dir DIR`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from etcd3aio import Etcd3Client

from cli.main import main
from local_mesh.certificates import (
    CA_NAME,
    CLIENT_EXTENSIONS,
    MeshCertificates,
    create_ca,
    issue_certificate,
)
from recmesh.etcd.keys import prefix_range_end
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.session import EtcdSession
from recmesh.net.ports import free_loopback_ports
from tests.control_plane.harness import running_control_plane

#: key -> (value, create_revision, mod_revision, version)
Keyspace = dict[str, tuple[bytes, int, int, int]]


def keyspace(etcd: LocalEtcd, prefix: str) -> Keyspace:
    """Every key under prefix as etcd's root reads it, with its revisions."""

    async def read() -> Keyspace:
        session = EtcdSession([etcd.endpoint], credentials=etcd.credentials("root"))
        await session.open()
        try:

            async def get(client: Etcd3Client) -> Keyspace:
                assert client.kv is not None
                response = await client.kv.get(prefix, prefix_range_end(prefix))
                return {
                    bytes(kv.key).decode(): (
                        bytes(kv.value),
                        int(kv.create_revision),
                        int(kv.mod_revision),
                        int(kv.version),
                    )
                    for kv in response.kvs
                }

            return await session.call(get)
        finally:
            await session.close()

    return asyncio.run(read())


async def read_anonymously(endpoint: str) -> None:
    """Reads a key with no credentials (etcd with auth on refuses: user name is empty)."""
    async with Etcd3Client([endpoint], rpc_max_attempts=1) as client:
        assert client.kv is not None
        await client.kv.get("/", timeout=3)


@contextmanager
def restored_etcd(backup: Path, directory: Path, credentials_dir: Path) -> Iterator[LocalEtcd]:
    """A second, fresh etcd started on the data dir `recmesh admin restore` made from the
    backup; its auth checked with the backed-up installation's password files."""
    if shutil.which("etcdutl") is None and shutil.which("etcdctl") is None:
        pytest.fail("etcd's tools are not installed; run `make setup` (it installs etcd-client)")
    client_port, peer_port = free_loopback_ports(2)
    data_dir = directory / "etcd-data"
    args = ["admin", "restore", "--from", str(backup), "--data-dir", str(data_dir)]
    assert main([*args, "--peer-url", f"http://127.0.0.1:{peer_port}"]) == 0
    etcd = LocalEtcd(data_dir=data_dir, client_port=client_port, peer_port=peer_port)
    etcd.start()
    try:
        # auth came with the snapshot: refused before secure(), which would turn it on
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            asyncio.run(read_anonymously(etcd.endpoint))
        assert anonymous.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "user name is empty" in str(anonymous.value.details())
        etcd.secure(credentials_dir)  # logs in as the backed-up root; adds nothing
        yield etcd
    finally:
        etcd.stop()


def test_a_restored_backup_has_the_same_pointer_records_and_a_verifying_audit_chain(
    etcd_server: LocalEtcd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backup restored into a fresh etcd holds the same keys at the same revisions: the
    same pointer, records and audit entries; the chain verifies there (`recmesh audit
    --verify`), and an experiment approved before the backup still promotes after it;
    --initial-cluster-token restores it for the Kubernetes StatefulSet's token."""
    installation = tmp_path / "installation"
    backup = tmp_path / "recmesh.etcd-snapshot"
    assert etcd_server.passwords is not None
    root_password = etcd_server.passwords.path("root")
    with running_control_plane(etcd_server, installation) as source:
        promoted = source.approved_experiment(source.challenger_a)
        source.promote(promoted.experiment_id)
        pending = source.approved_experiment(source.challenger_b)
        prefix = source.keys.prefix
        pointer = source.pointer()
        entries = source.audit_entries()
        backup_args = ["admin", "backup", "--out", str(backup), "--etcd", etcd_server.endpoint]
        as_root = ["--etcd-user", "root", "--etcd-password-file", str(root_password)]
        capsys.readouterr()
        assert main([*backup_args, *as_root, "--json"]) == 0
        before = keyspace(etcd_server, prefix)
        saved = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert saved["bytes"] == backup.stat().st_size
    assert backup.stat().st_mode & 0o777 == 0o600

    with restored_etcd(backup, tmp_path / "restored", tmp_path / "etcd-credentials") as etcd:
        assert keyspace(etcd, prefix) == before
        with running_control_plane(etcd, installation, prefix=prefix) as restored:
            assert restored.pointer() == pointer
            assert restored.audit_entries() == entries  # the bootstrap found it all there
            report = restored.verify_audit()
            assert report.ok
            assert report.entries == len(entries)
            capsys.readouterr()
            assert main(["audit", "--verify", *restored.cli_args("alice")]) == 0
            assert "hash chain intact" in capsys.readouterr().out
            # its evaluation names the champion pointer's revision, which the restore kept
            restored.promote(pending.experiment_id)
            assert restored.pointer().serving_version == pending.spec.challenger_version
            assert restored.verify_audit().ok

    # a member of the StatefulSet of infra/k8s/ starts with the cluster token `recmesh`
    as_on_kubernetes = ["--data-dir", str(tmp_path / "k8s-member"), "--json"]
    token = ["--initial-cluster-token", "recmesh"]
    capsys.readouterr()
    assert main(["admin", "restore", "--from", str(backup), *as_on_kubernetes, *token]) == 0
    assert json.loads(capsys.readouterr().out)["cluster_token"] == "recmesh"


def test_backup_needs_etcds_root_and_never_overwrites(
    etcd_server: LocalEtcd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """etcd refuses a snapshot to the control plane's user (exit 1, no file left); an
    existing --out file is never replaced."""
    assert etcd_server.passwords is not None
    out = tmp_path / "backup.db"
    args = ["admin", "backup", "--out", str(out), "--etcd", etcd_server.endpoint]
    user = "recmesh-control-plane"
    as_user = ["--etcd-user", user, "--etcd-password-file", str(etcd_server.passwords.path(user))]
    assert main([*args, *as_user]) == 1
    assert "permission denied" in capsys.readouterr().err
    assert not [path for path in tmp_path.iterdir() if "backup.db" in path.name]

    out.write_bytes(b"an older backup")
    root_password = str(etcd_server.passwords.path("root"))
    as_root = ["--etcd-user", "root", "--etcd-password-file", root_password]
    assert main([*args, *as_root]) == 1
    assert "never overwrites" in capsys.readouterr().err
    assert out.read_bytes() == b"an older backup"


def test_restore_refuses_a_damaged_file_and_a_data_dir_that_holds_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file whose appended sha256 does not match is refused before etcd's tool runs,
    and so is a non-empty --data-dir, which is left as it was."""
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"\0" * 4096 + b"\1" * 32)
    data_dir = tmp_path / "data"
    assert main(["admin", "restore", "--from", str(damaged), "--data-dir", str(data_dir)]) == 1
    assert "checksum fails" in capsys.readouterr().err
    assert not data_dir.exists()

    database = b"\0" * 4096
    intact = tmp_path / "intact.db"
    intact.write_bytes(database + hashlib.sha256(database).digest())
    (data_dir / "member").mkdir(parents=True)
    assert main(["admin", "restore", "--from", str(intact), "--data-dir", str(data_dir)]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert [path.name for path in data_dir.iterdir()] == ["member"]


def test_backup_through_a_tunnel_checks_the_certificate_for_tls_server_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Over mutual TLS, --tls-server-name is the name etcd's certificate must carry when
    --etcd is a tunnel to 127.0.0.1 (kubectl port-forward): recmesh-etcd, which the
    certificate names, is accepted; a name it does not carry is refused, no file left."""
    directory = tmp_path / "tls"
    directory.mkdir(mode=0o700)
    create_ca(directory)
    etcd_names = "subjectAltName=DNS:recmesh-etcd,IP:127.0.0.1\n"
    issue_certificate(
        directory, CA_NAME, "etcd", etcd_names + "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    issue_certificate(directory, CA_NAME, "root", CLIENT_EXTENSIONS)  # CN root: etcd's root
    certificates = MeshCertificates(directory)
    etcd = LocalEtcd(data_dir=tmp_path / "etcd", tls=certificates.files("etcd"))
    etcd.start()
    try:
        etcd.secure(tmp_path / "credentials")
        root = certificates.files("root")
        args = ["admin", "backup", "--etcd", etcd.endpoint, "--tls-ca", str(root.ca)]
        args += ["--tls-cert", str(root.cert), "--tls-key", str(root.key)]
        named = ["--out", str(tmp_path / "named.db"), "--tls-server-name", "recmesh-etcd"]
        assert main([*args, *named]) == 0
        assert (tmp_path / "named.db").stat().st_size > 0
        other = ["--out", str(tmp_path / "other.db"), "--tls-server-name", "elsewhere"]
        capsys.readouterr()
        assert main([*args, *other]) == 1
        assert "Hostname Verification Check failed" in capsys.readouterr().err
        assert not (tmp_path / "other.db").exists()
    finally:
        etcd.stop()
