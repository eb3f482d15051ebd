"""Backups of etcd as etcd's own snapshots, and their restore into a fresh data dir.

A backup is the stream of etcd's `Maintenance.Snapshot` (through etcd3aio), written to
a file as it arrives: the whole bbolt database at one revision, followed by the
sha256 of the database, which etcd appends. A restore checks that sha256 and hands the
file to etcd's own tool (`etcdutl`, or `etcdctl` of etcd 3.4: Debian's etcd-client),
which makes a new data dir from it; etcd then starts on that dir.

Why a snapshot rather than a copy of recmesh's keys: recmesh depends on etcd's
revisions. The pointer's `revision` is its key's mod_revision; an evaluation records
the champion pointer's revision it was measured against (Promote refuses when the
pointer has moved since); history keys and signed records carry revisions too. A
snapshot keeps every key's create and mod revisions, so a restored installation
promotes, rolls back and verifies exactly as the backed-up one would have; keys
written again into a new etcd would all get new revisions. The snapshot also carries
etcd's users, roles and their permissions (passwords as bcrypt hashes), so the
restored etcd has auth on with the same users: the password files of the installation
that was backed up log in to it.

The price: etcd answers a snapshot only to its root user (`auth: permission denied`
otherwise), and a snapshot holds every installation of that etcd.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import grpc
from etcd3aio import Etcd3Client, EtcdError

from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.session import EtcdSession
from recmesh.rpc.tls import TlsFiles

#: etcd appends the sha256 of the database to the snapshot stream.
HASH_SIZE = hashlib.sha256().digest_size
#: The member name and cluster token infra/etcd/run-etcd.sh (so `recmesh up`) uses; the
#: StatefulSet of infra/k8s/ uses the token `recmesh` (ETCD_INITIAL_CLUSTER_TOKEN).
DEFAULT_MEMBER_NAME = "recmesh"
DEFAULT_CLUSTER_TOKEN = "recmesh-local"
_CHUNK = 1 << 20


class BackupError(RuntimeError):
    """A backup or restore that was refused or failed; the message says why and what to
    do."""


@dataclass(frozen=True)
class SnapshotFile:
    """A snapshot file whose embedded sha256 matched its database."""

    path: Path
    size: int
    #: sha256 of the whole file (keep it beside the backup, to recognize the file later).
    sha256: str


@dataclass(frozen=True)
class SnapshotStatus:
    """What etcd's tool reads from a snapshot file."""

    revision: int
    keys: int


@dataclass(frozen=True)
class RestoredMember:
    """How a restored member must be started: the data dir and the name, peer URL and
    cluster token the restore wrote into it."""

    data_dir: Path
    name: str
    peer_url: str
    cluster_token: str


def save_snapshot(
    endpoints: Sequence[str],
    out: Path,
    *,
    credentials: EtcdCredentials | None,
    tls: TlsFiles | None = None,
    tls_server_name: str | None = None,
    timeout_s: float = 300.0,
) -> SnapshotFile:
    """Streams etcd's snapshot into out (mode 0600: it holds every record and the
    users' password hashes) and checks its embedded sha256; with tls, etcd's
    certificate must name tls_server_name when given (a tunnel to 127.0.0.1), else
    the endpoints' host. Never overwrites: raises
    BackupError when out exists, when etcd refuses (a user other than root) or fails,
    or when the checksum does not match; then out is left absent."""
    if out.exists():
        raise BackupError(f"{out} exists; a backup never overwrites a file")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, partial_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
    partial = Path(partial_name)
    try:
        with os.fdopen(fd, "wb") as file:
            try:
                session = EtcdSession(
                    endpoints,
                    tls=tls,
                    credentials=credentials,
                    timeout_s=timeout_s,
                    tls_server_name=tls_server_name,
                )
                asyncio.run(_stream_snapshot(session, file, timeout_s))
            except (EtcdError, grpc.aio.AioRpcError) as exc:
                raise BackupError(
                    f"etcd refused or broke off the snapshot: {_reason(exc)}"
                ) from exc
            file.flush()
            os.fsync(file.fileno())
        checked = check_snapshot(partial)
        try:
            os.link(partial, out)  # unlike a rename, never replaces a file made meanwhile
        except FileExistsError as exc:
            raise BackupError(f"{out} exists; a backup never overwrites a file") from exc
    finally:
        partial.unlink(missing_ok=True)
    return SnapshotFile(out, checked.size, checked.sha256)


async def _stream_snapshot(session: EtcdSession, file: BinaryIO, timeout_s: float) -> None:
    try:
        await session.open()

        async def stream(client: Etcd3Client) -> None:
            assert client.maintenance is not None
            file.seek(0)  # a retry after a new login streams it again
            file.truncate()
            async for chunk in client.maintenance.snapshot(timeout=timeout_s):
                file.write(chunk)

        await session.call(stream)
    finally:
        await session.close()


def check_snapshot(path: Path) -> SnapshotFile:
    """The file, once the sha256 etcd appended matches the database before it; raises
    BackupError when the file cannot be read, is too short or does not match."""
    try:
        size = path.stat().st_size
        whole = hashlib.sha256()
        database = hashlib.sha256()
        remaining = size - HASH_SIZE
        if remaining <= 0:
            raise BackupError(f"{path} is not an etcd snapshot: {size} bytes")
        with path.open("rb") as file:
            while remaining > 0:
                chunk = file.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                whole.update(chunk)
                database.update(chunk)
            embedded = file.read()
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc}") from exc
    whole.update(embedded)
    if embedded != database.digest():
        raise BackupError(
            f"{path}: its checksum fails (the sha256 etcd appended does not match the "
            "database): the file is damaged or not an etcd snapshot"
        )
    return SnapshotFile(path, size, whole.hexdigest())


def snapshot_status(path: Path) -> SnapshotStatus:
    """The revision and key count etcd's tool reads from the file; raises BackupError."""
    output = _run_tool(["snapshot", "status", str(path), "--write-out", "json"])
    try:
        status = json.loads(output)
        return SnapshotStatus(revision=int(status["revision"]), keys=int(status["totalKey"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"unexpected snapshot status of {path}: {output.strip()}") from exc


def restore_snapshot(
    path: Path,
    data_dir: Path,
    *,
    name: str = DEFAULT_MEMBER_NAME,
    peer_url: str = "http://127.0.0.1:2380",
    initial_cluster: str = "",
    cluster_token: str = DEFAULT_CLUSTER_TOKEN,
) -> RestoredMember:
    """Makes data_dir, which must be absent or empty, a new etcd member's data from the
    snapshot: same keys, revisions, users and roles; a new cluster of the members
    initial_cluster names (this member alone when empty) under cluster_token, which
    must be the one its etcd starts with. Checks the file's sha256 first. Raises
    BackupError; never touches a data dir that holds anything."""
    check_snapshot(path)
    if data_dir.exists():
        if not data_dir.is_dir() or any(data_dir.iterdir()):
            raise BackupError(
                f"{data_dir} is not empty: a restore makes a fresh data dir and never "
                "replaces one (stop that etcd and move its data dir aside first)"
            )
        data_dir.rmdir()  # etcd's tool refuses even an empty one
    _run_tool(
        [
            "snapshot", "restore", str(path),
            "--data-dir", str(data_dir),
            "--name", name,
            "--initial-cluster", initial_cluster or f"{name}={peer_url}",
            "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster-token", cluster_token,
        ]
    )  # fmt: skip
    return RestoredMember(data_dir, name, peer_url, cluster_token)


def _run_tool(arguments: list[str]) -> str:
    """Runs etcdutl (etcd 3.5+) or else etcdctl (3.4) with arguments; its stdout."""
    tool = shutil.which("etcdutl") or shutil.which("etcdctl")
    if tool is None:
        raise BackupError(
            "neither etcdutl nor etcdctl is installed: install etcd's tools "
            "(Debian: apt-get install etcd-client; `make setup` does)"
        )
    result = subprocess.run(
        [tool, *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "ETCDCTL_API": "3"},
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise BackupError(f"{Path(tool).name} {' '.join(arguments[:2])} failed: {detail}")
    return result.stdout


def _reason(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        details = exc.details() or exc.code().name
        if "permission denied" in details:
            return f"{details} (etcd gives snapshots to its root user only)"
        return details
    return str(exc)
